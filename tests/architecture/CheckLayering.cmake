# ui/ and models/ talk to the database only through the console services
# (services/console/*Service): they include no services/db header and never name the
# database layer's classes, not even in a forward declaration or a comment. The compile-time
# barrier (services/console/CMakeLists.txt) already refuses db/ includes; this also catches
# names. Run as: cmake -DSOURCE_DIR=<repo> -P CheckLayering.cmake
if(NOT SOURCE_DIR)
    message(FATAL_ERROR "SOURCE_DIR is not set")
endif()

set(word "[^A-Za-z0-9_]")
set(forbidden
    "#include[ \t]*[\"<]db/"
    "(^|${word})DbWorker(${word}|$)"
    "(^|${word})Connection(Settings)?(${word}|$)"
    "(^|${word})[A-Za-z]*Repository(${word}|$)"
    "pqxx")

file(GLOB_RECURSE files
    ${SOURCE_DIR}/ui/*.h ${SOURCE_DIR}/ui/*.cpp
    ${SOURCE_DIR}/models/*.h ${SOURCE_DIR}/models/*.cpp)
if(NOT files)
    message(FATAL_ERROR "no sources found under ${SOURCE_DIR}/ui and ${SOURCE_DIR}/models")
endif()

set(violations "")
foreach(file IN LISTS files)
    file(STRINGS ${file} lines)
    set(number 0)
    foreach(line IN LISTS lines)
        math(EXPR number "${number} + 1")
        foreach(pattern IN LISTS forbidden)
            if(line MATCHES "${pattern}")
                file(RELATIVE_PATH shown ${SOURCE_DIR} ${file})
                string(APPEND violations "  ${shown}:${number}: ${line}\n")
                break()
            endif()
        endforeach()
    endforeach()
endforeach()

list(LENGTH files count)
if(violations)
    message(FATAL_ERROR "ui/ and models/ must reach the database only through the console "
                        "services (services/console), never db/, DbWorker, Connection or a "
                        "repository:\n${violations}")
endif()
message(STATUS "Layering: ${count} files in ui/ and models/ use only the console services")
