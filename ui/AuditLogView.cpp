#include "AuditLogView.h"

#include "DisplayZone.h"
#include "InstantEdit.h"

#include "AuditLogModel.h"
#include "AuditVerifyPanel.h"

#include <QAction>
#include <QCheckBox>
#include <QCompleter>
#include <QFontDatabase>
#include <QFormLayout>
#include <QFrame>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QJsonDocument>
#include <QJsonObject>
#include <QKeyEvent>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSplitter>
#include <QStackedWidget>
#include <QTableView>
#include <QTime>
#include <QVBoxLayout>

namespace ledger {

namespace {

// Re-indents JSON text without parsing its values: the detail pane must show exactly what
// the database stored (a QJsonDocument round trip would turn large integers into doubles
// and reorder keys). Four spaces, as PostgreSQL's jsonb_pretty() does.
QString indentJson(const QString &json)
{
    QString out;
    out.reserve(json.size() * 2);
    int depth = 0;
    bool inString = false;
    bool escaped = false;
    auto newline = [&] {
        out += QLatin1Char('\n');
        out += QString(qsizetype(depth) * 4, QLatin1Char(' '));
    };
    for (qsizetype i = 0; i < json.size(); ++i) {
        const QChar c = json.at(i);
        if (inString) {
            out += c;
            if (escaped)
                escaped = false;
            else if (c == QLatin1Char('\\'))
                escaped = true;
            else if (c == QLatin1Char('"'))
                inString = false;
            continue;
        }
        switch (c.unicode()) {
        case '"':
            inString = true;
            out += c;
            break;
        case '{':
        case '[': {
            qsizetype next = i + 1;
            while (next < json.size() && json.at(next).isSpace())
                ++next;
            if (next < json.size() &&
                (json.at(next) == QLatin1Char('}') || json.at(next) == QLatin1Char(']'))) {
                out += c; // an empty object or array stays on one line
                out += json.at(next);
                i = next;
                break;
            }
            out += c;
            ++depth;
            newline();
            break;
        }
        case '}':
        case ']':
            depth = qMax(0, depth - 1);
            newline();
            out += c;
            break;
        case ',':
            out += c;
            newline();
            break;
        case ':':
            out += QStringLiteral(": ");
            break;
        default:
            if (!c.isSpace())
                out += c;
        }
    }
    return out;
}

QLabel *valueLabel(QWidget *parent, const QString &accessibleName)
{
    auto *label = new QLabel(parent);
    // Plain text: it shows values from the database (or messages quoting them).
    label->setTextFormat(Qt::PlainText);
    label->setTextInteractionFlags(Qt::TextSelectableByMouse | Qt::TextSelectableByKeyboard);
    label->setAccessibleName(accessibleName);
    return label;
}

QLineEdit *hashField(QWidget *parent, const QString &accessibleName)
{
    auto *field = new QLineEdit(parent);
    field->setReadOnly(true);
    field->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    field->setAccessibleName(accessibleName);
    field->setPlaceholderText(QObject::tr("not yet sealed"));
    field->setMinimumWidth(field->fontMetrics().horizontalAdvance(QString(64, QLatin1Char('0'))) +
                           12);
    return field;
}

} // namespace

AuditLogView::AuditLogView(AuditService *audit, QWidget *parent)
    : QWidget(parent)
    , m_model(new AuditLogModel(audit, this))
{
    setObjectName(QStringLiteral("auditLogView"));
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(8, 8, 8, 8);

    // Error banner: what went wrong and a Retry; hidden while all is well.
    m_banner = new QFrame(this);
    m_banner->setObjectName(QStringLiteral("auditErrorBanner"));
    m_banner->setFrameShape(QFrame::StyledPanel);
    m_banner->setStyleSheet(QStringLiteral("#auditErrorBanner { background: palette(base); border: "
                                           "1px solid #c0392b; border-radius: 4px; }"));
    auto *bannerLayout = new QHBoxLayout(m_banner);
    m_bannerText = new QLabel(m_banner);
    // Plain text: it shows values from the database (or messages quoting them).
    m_bannerText->setTextFormat(Qt::PlainText);
    m_bannerText->setWordWrap(true);
    m_bannerText->setTextInteractionFlags(Qt::TextSelectableByMouse);
    auto *retry = new QPushButton(tr("R&etry"), m_banner);
    retry->setAccessibleName(tr("Retry loading the audit log"));
    bannerLayout->addWidget(m_bannerText, 1);
    bannerLayout->addWidget(retry);
    connect(retry, &QPushButton::clicked, this, &AuditLogView::refresh);
    m_banner->hide();
    layout->addWidget(m_banner);

    layout->addWidget(createFilterBar());

    auto *separator = new QFrame(this);
    separator->setFrameShape(QFrame::HLine);
    separator->setFrameShadow(QFrame::Sunken);
    layout->addWidget(separator);

    m_verifyPanel = new AuditVerifyPanel(audit, this);
    layout->addWidget(m_verifyPanel);
    // The verifier records its run as an audit event: show it.
    connect(m_verifyPanel, &AuditVerifyPanel::finished, this,
            [this](const VerificationResult &result) {
                if (!result.cancelled)
                    refresh();
            });

    m_table = new QTableView(this);
    m_table->setObjectName(QStringLiteral("auditTable"));
    m_table->setAccessibleName(tr("Audit events, newest first"));
    m_table->setModel(m_model);
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->setSelectionMode(QAbstractItemView::SingleSelection);
    m_table->setAlternatingRowColors(true);
    m_table->setWordWrap(false);
    m_table->setTabKeyNavigation(false); // Tab leaves the table for the detail pane
    // Fixed, uniform row heights: the log can hold millions of rows.
    m_table->verticalHeader()->setSectionResizeMode(QHeaderView::Fixed);
    m_table->verticalHeader()->setDefaultSectionSize(fontMetrics().height() + 8);
    m_table->verticalHeader()->hide();
    QHeaderView *header = m_table->horizontalHeader();
    header->setStretchLastSection(true);
    header->setHighlightSections(false);
    const QFontMetrics fm = fontMetrics();
    m_table->setColumnWidth(AuditLogModel::Sequence,
                            fm.horizontalAdvance(QStringLiteral("sealing…")) + 24);
    m_table->setColumnWidth(AuditLogModel::OccurredAt,
                            fm.horizontalAdvance(QStringLiteral("0000-00-00 00:00:00")) + 24);
    m_table->setColumnWidth(AuditLogModel::Operator, 130);
    m_table->setColumnWidth(AuditLogModel::Action, 170);
    m_table->setColumnWidth(AuditLogModel::ObjectType, 120);
    m_table->setColumnWidth(AuditLogModel::ObjectId, 130);

    m_openAction = new QAction(tr("&Open object"), this);
    m_openAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_O));
    m_openAction->setShortcutContext(Qt::WidgetWithChildrenShortcut);
    m_openAction->setEnabled(false);
    connect(m_openAction, &QAction::triggered, this, &AuditLogView::openSelectedObject);
    m_table->addAction(m_openAction);
    m_table->setContextMenuPolicy(Qt::ActionsContextMenu);
    // Enter or a double click on a row opens its object.
    connect(m_table, &QTableView::activated, this, &AuditLogView::openSelectedObject);

    auto *tablePane = new QWidget(this);
    auto *tableLayout = new QVBoxLayout(tablePane);
    tableLayout->setContentsMargins(0, 0, 0, 0);
    tableLayout->addWidget(m_table, 1);
    m_status = new QLabel(tablePane);
    // Plain text: it shows values from the database (or messages quoting them).
    m_status->setTextFormat(Qt::PlainText);
    m_status->setObjectName(QStringLiteral("auditStatus"));
    tableLayout->addWidget(m_status);

    auto *splitter = new QSplitter(Qt::Vertical, this);
    splitter->setObjectName(QStringLiteral("auditSplitter"));
    splitter->setChildrenCollapsible(false);
    splitter->addWidget(tablePane);
    splitter->addWidget(createDetailPane());
    splitter->setStretchFactor(0, 3);
    splitter->setStretchFactor(1, 2);
    layout->addWidget(splitter, 1);

    // The pane follows the selection. Focusing the table makes a row current without
    // selecting it: select it, so that the marked row and the pane always agree.
    connect(m_table->selectionModel(), &QItemSelectionModel::currentRowChanged, this,
            [this](const QModelIndex &current) {
                if (current.isValid() && selectedRow() != current.row())
                    m_table->selectRow(current.row());
            });
    connect(m_table->selectionModel(), &QItemSelectionModel::selectionChanged, this, [this] {
        const int row = selectedRow();
        showDetails(row >= 0 ? &m_model->event(row) : nullptr);
    });
    connect(m_model, &QAbstractItemModel::modelReset, this, [this] { showDetails(nullptr); });
    connect(m_model, &AuditLogModel::loadingChanged, this, &AuditLogView::updateStatus);
    connect(m_model, &AuditLogModel::pageLoaded, this, [this] {
        m_banner->hide();
        reselect();
        updateStatus();
    });
    connect(m_model, &AuditLogModel::loadFailed, this, &AuditLogView::showLoadError);
    // Another zone chosen in the View menu: the detail pane's time written again.
    connect(DisplayZone::instance(), &DisplayZone::changed, this, [this] {
        const int row = selectedRow();
        showDetails(row >= 0 ? &m_model->event(row) : nullptr);
    });

    showDetails(nullptr);
    updateStatus();
}

QFrame *AuditLogView::createFilterBar()
{
    m_filterBar = new QFrame(this);
    m_filterBar->setObjectName(QStringLiteral("auditFilterBar"));
    auto *grid = new QGridLayout(m_filterBar);
    grid->setContentsMargins(0, 0, 0, 0);

    auto addField = [this, grid](int row, int column, const QString &label, QWidget *field) {
        auto *l = new QLabel(label, m_filterBar);
        l->setBuddy(field);
        grid->addWidget(l, row, column * 2);
        grid->addWidget(field, row, column * 2 + 1);
    };
    auto lineEdit = [this](const QString &name, const QString &accessibleName,
                           const QString &placeholder) {
        auto *edit = new QLineEdit(m_filterBar);
        edit->setObjectName(name);
        edit->setAccessibleName(accessibleName);
        edit->setPlaceholderText(placeholder);
        edit->setClearButtonEnabled(true);
        return edit;
    };
    m_operator =
        lineEdit(QStringLiteral("filterOperator"), tr("Filter by operator"), tr("operator name"));
    m_action = lineEdit(QStringLiteral("filterAction"), tr("Filter by action"),
                        tr("e.g. reversal. or account.opened"));
    m_objectType = lineEdit(QStringLiteral("filterObjectType"), tr("Filter by object type"),
                            tr("e.g. account"));
    m_objectId =
        lineEdit(QStringLiteral("filterObjectId"), tr("Filter by object id"), tr("code or id"));
    m_text = lineEdit(QStringLiteral("filterText"), tr("Filter by text in details"),
                      tr("any text in the details"));

    // Suggestions only: any action or prefix ending in '.' may be typed.
    auto *actions = new QCompleter(
        QStringList{QStringLiteral("account."), QStringLiteral("account.opened"),
                    QStringLiteral("audit."), QStringLiteral("audit.checkpoint_issued"),
                    QStringLiteral("audit.verified"), QStringLiteral("balance.asked"),
                    QStringLiteral("operator."), QStringLiteral("reversal."),
                    QStringLiteral("reversal.requested"), QStringLiteral("reversal.approved"),
                    QStringLiteral("reversal.rejected"), QStringLiteral("session."),
                    QStringLiteral("statement.exported"), QStringLiteral("transaction.posted")},
        m_action);
    actions->setCaseSensitivity(Qt::CaseInsensitive);
    m_action->setCompleter(actions);
    auto *types =
        new QCompleter(QStringList{QStringLiteral("account"), QStringLiteral("audit_chain"),
                                   QStringLiteral("audit_checkpoint"), QStringLiteral("operator"),
                                   QStringLiteral("reversal_request"), QStringLiteral("session"),
                                   QStringLiteral("statement"), QStringLiteral("transaction")},
                       m_objectType);
    types->setCaseSensitivity(Qt::CaseInsensitive);
    m_objectType->setCompleter(types);

    // Optional bounds: a check box turns each on. Shown and entered in the zone shown
    // (DisplayZone), today's start in that zone at first.
    const QDateTime today = QDate::currentDate().startOfDay(DisplayZone::instance()->zone());
    auto dateTimeEdit = [this](const QString &name, const QString &accessibleName,
                               const QDateTime &initial) {
        auto *edit = new InstantEdit(m_filterBar, TimePrecision::Minutes);
        edit->setInstant(initial);
        edit->setObjectName(name);
        edit->setAccessibleName(accessibleName);
        edit->setEnabled(false);
        // The operator said which of two equal wall times: filter with it.
        connect(edit, &InstantEdit::overlapChosen, this, &AuditLogView::applyFilter);
        return edit;
    };
    m_fromEnabled = new QCheckBox(tr("Fro&m"), m_filterBar);
    m_fromEnabled->setObjectName(QStringLiteral("filterFromEnabled"));
    m_fromEnabled->setAccessibleName(tr("Only events from a time on"));
    m_from = dateTimeEdit(QStringLiteral("filterFrom"), tr("From (inclusive)"), today);
    m_untilEnabled = new QCheckBox(tr("&Until"), m_filterBar);
    m_untilEnabled->setObjectName(QStringLiteral("filterUntilEnabled"));
    m_untilEnabled->setAccessibleName(tr("Only events before a time"));
    m_until =
        dateTimeEdit(QStringLiteral("filterUntil"), tr("Until (exclusive)"), today.addDays(1));
    connect(m_fromEnabled, &QCheckBox::toggled, m_from, &QWidget::setEnabled);
    connect(m_untilEnabled, &QCheckBox::toggled, m_until, &QWidget::setEnabled);

    auto *apply = new QPushButton(tr("&Apply"), m_filterBar);
    apply->setObjectName(QStringLiteral("filterApply"));
    apply->setAccessibleName(tr("Apply the filter"));
    auto *clear = new QPushButton(tr("C&lear"), m_filterBar);
    clear->setObjectName(QStringLiteral("filterClear"));
    clear->setAccessibleName(tr("Clear the filter"));
    connect(apply, &QPushButton::clicked, this, &AuditLogView::applyFilter);
    connect(clear, &QPushButton::clicked, this, &AuditLogView::clearFilter);

    // Creation order is the Tab order: row by row, left to right.
    addField(0, 0, tr("O&perator:"), m_operator);
    addField(0, 1, tr("A&ction:"), m_action);
    addField(0, 2, tr("Object &type:"), m_objectType);
    addField(0, 3, tr("Object &id:"), m_objectId);
    grid->addWidget(m_fromEnabled, 1, 0);
    grid->addWidget(m_from, 1, 1);
    grid->addWidget(m_untilEnabled, 1, 2);
    grid->addWidget(m_until, 1, 3);
    addField(1, 2, tr("Te&xt:"), m_text);
    auto *buttons = new QHBoxLayout;
    buttons->addStretch(1);
    buttons->addWidget(apply);
    buttons->addWidget(clear);
    grid->addLayout(buttons, 1, 6, 1, 2);
    for (int column = 1; column < 8; column += 2)
        grid->setColumnStretch(column, 1);
    grid->setColumnStretch(7, 1);
    setTabOrder(m_operator, m_action);
    setTabOrder(m_action, m_objectType);
    setTabOrder(m_objectType, m_objectId);
    setTabOrder(m_objectId, m_fromEnabled);
    setTabOrder(m_fromEnabled, m_from);
    setTabOrder(m_from, m_untilEnabled);
    setTabOrder(m_untilEnabled, m_until);
    setTabOrder(m_until, m_text);
    setTabOrder(m_text, apply);
    setTabOrder(apply, clear);

    // Enter anywhere in the bar applies: line edits, date edits and check boxes leave
    // Return unhandled, so it reaches the bar.
    m_filterBar->installEventFilter(this);
    return m_filterBar;
}

QWidget *AuditLogView::createDetailPane()
{
    m_detailStack = new QStackedWidget(this);
    m_detailStack->setObjectName(QStringLiteral("auditDetail"));

    auto *hint = new QLabel(tr("Select an event to see all of its fields."), m_detailStack);
    hint->setAlignment(Qt::AlignCenter);
    hint->setEnabled(false);
    m_detailStack->addWidget(hint);

    auto *page = new QWidget(m_detailStack);
    auto *columns = new QHBoxLayout(page);
    columns->setContentsMargins(0, 4, 0, 0);

    auto *form = new QFormLayout;
    form->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
    m_eventId = valueLabel(page, tr("Event id"));
    m_eventId->setObjectName(QStringLiteral("detailEventId"));
    m_sequence = valueLabel(page, tr("Sequence"));
    m_sequence->setObjectName(QStringLiteral("detailSequence"));
    m_occurredAt = valueLabel(page, tr("Time"));
    m_occurredAt->setObjectName(QStringLiteral("detailTime"));
    m_operatorValue = valueLabel(page, tr("Operator"));
    m_operatorValue->setObjectName(QStringLiteral("detailOperator"));
    m_sessionRole = valueLabel(page, tr("Session role"));
    m_sessionRole->setObjectName(QStringLiteral("detailSessionRole"));
    m_actionValue = valueLabel(page, tr("Action"));
    m_actionValue->setObjectName(QStringLiteral("detailAction"));
    m_object = valueLabel(page, tr("Object"));
    m_object->setObjectName(QStringLiteral("detailObject"));
    m_openButton = new QPushButton(tr("&Open object"), page);
    m_openButton->setObjectName(QStringLiteral("openObject"));
    m_openButton->setAccessibleName(tr("Open the event's object"));
    connect(m_openButton, &QPushButton::clicked, this, &AuditLogView::openSelectedObject);
    auto *objectRow = new QHBoxLayout;
    objectRow->addWidget(m_object, 1);
    objectRow->addWidget(m_openButton);
    m_prevHash = hashField(page, tr("Previous hash"));
    m_prevHash->setObjectName(QStringLiteral("detailPrevHash"));
    m_hash = hashField(page, tr("Hash"));
    m_hash->setObjectName(QStringLiteral("detailHash"));
    form->addRow(tr("Event:"), m_eventId);
    form->addRow(tr("Sequence:"), m_sequence);
    form->addRow(tr("Time:"), m_occurredAt);
    form->addRow(tr("Operator:"), m_operatorValue);
    form->addRow(tr("Session role:"), m_sessionRole);
    form->addRow(tr("Action:"), m_actionValue);
    form->addRow(tr("Object:"), objectRow);
    form->addRow(tr("Previous hash:"), m_prevHash);
    form->addRow(tr("Hash:"), m_hash);
    columns->addLayout(form, 3);

    auto jsonView = [page](const QString &name, const QString &accessibleName) {
        auto *view = new QPlainTextEdit(page);
        view->setObjectName(name);
        view->setAccessibleName(accessibleName);
        view->setReadOnly(true);
        view->setTabChangesFocus(true);
        view->setLineWrapMode(QPlainTextEdit::NoWrap);
        view->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
        return view;
    };
    m_details = jsonView(QStringLiteral("detailDetails"), tr("Details (JSON)"));
    m_clientInfo = jsonView(QStringLiteral("detailClientInfo"), tr("Client information (JSON)"));
    auto *json = new QGridLayout;
    auto *detailsLabel = new QLabel(tr("Details:"), page);
    detailsLabel->setBuddy(m_details);
    auto *clientLabel = new QLabel(tr("Client info:"), page);
    clientLabel->setBuddy(m_clientInfo);
    json->addWidget(detailsLabel, 0, 0);
    json->addWidget(m_details, 1, 0);
    json->addWidget(clientLabel, 0, 1);
    json->addWidget(m_clientInfo, 1, 1);
    json->setColumnStretch(0, 3);
    json->setColumnStretch(1, 2);
    columns->addLayout(json, 3);

    m_detailStack->addWidget(page);
    return m_detailStack;
}

AuditFilter AuditLogView::filterFromBar() const
{
    AuditFilter filter;
    filter.operatorName = m_operator->text().trimmed();
    filter.action = m_action->text().trimmed();
    filter.objectType = m_objectType->text().trimmed();
    filter.objectId = m_objectId->text().trimmed();
    // A bound that names no instant (applyFilter() says why) is left out.
    if (const Result<QDateTime> from = m_from->meant(); m_fromEnabled->isChecked() && from)
        filter.from = from.value();
    if (const Result<QDateTime> until = m_until->meant(); m_untilEnabled->isChecked() && until)
        filter.until = until.value();
    filter.text = m_text->text().trimmed();
    return filter;
}

void AuditLogView::applyFilter()
{
    // Typed bounds are read in the zone shown: one the zone skips, or has twice and the
    // operator has not said which, is refused with what to type.
    for (auto [enabled, edit, what] : {std::tuple{m_fromEnabled, m_from, tr("From")},
                                       std::tuple{m_untilEnabled, m_until, tr("Until")}}) {
        if (!enabled->isChecked())
            continue;
        if (const Result<QDateTime> t = edit->instant(); !t) {
            m_status->setText(tr("%1: %2").arg(what, t.error().message));
            edit->setFocus();
            return;
        }
    }
    m_reselectId = 0;
    m_model->setFilter(filterFromBar());
}

void AuditLogView::clearFilter()
{
    for (QLineEdit *edit : {m_operator, m_action, m_objectType, m_objectId, m_text})
        edit->clear();
    m_fromEnabled->setChecked(false);
    m_untilEnabled->setChecked(false);
    applyFilter();
}

void AuditLogView::showEventsOf(const QString &objectType, const QString &objectId)
{
    for (QLineEdit *edit : {m_operator, m_action, m_text})
        edit->clear();
    m_fromEnabled->setChecked(false);
    m_untilEnabled->setChecked(false);
    m_objectType->setText(objectType);
    m_objectId->setText(objectId);
    applyFilter();
}

void AuditLogView::refresh()
{
    const int row = selectedRow();
    m_reselectId = row >= 0 ? m_model->event(row).id : 0;
    m_model->refresh();
}

int AuditLogView::selectedRow() const
{
    const QModelIndexList rows = m_table->selectionModel()->selectedRows();
    return rows.isEmpty() ? -1 : rows.first().row();
}

void AuditLogView::reselect()
{
    if (m_reselectId == 0)
        return;
    const qint64 id = m_reselectId;
    m_reselectId = 0; // only the first page after a refresh is searched
    for (int row = 0; row < m_model->rowCount(); ++row) {
        if (m_model->event(row).id == id) {
            m_table->selectRow(row);
            m_table->scrollTo(m_model->index(row, 0));
            return;
        }
    }
}

void AuditLogView::openSelectedObject()
{
    const int row = selectedRow();
    if (row < 0)
        return;
    const AuditEvent &e = m_model->event(row);
    // A reversal request is shown with its transaction, which lists its requests and
    // decisions; the event names the transaction in its details.
    if (e.objectType == QLatin1String("reversal_request")) {
        const QJsonValue transaction = QJsonDocument::fromJson(e.details.toUtf8())
                                           .object()
                                           .value(QStringLiteral("transaction_id"));
        // An integer, never through a double (exact only up to 2^53).
        if (const qint64 id = transaction.toInteger(0); id > 0) {
            Q_EMIT openObjectRequested(QStringLiteral("transaction"), QString::number(id));
            return;
        }
    }
    if (e.objectId.isEmpty())
        return;
    Q_EMIT openObjectRequested(e.objectType, e.objectId);
}

void AuditLogView::showDetails(const AuditEvent *e)
{
    const bool canOpen = e && !e->objectId.isEmpty();
    m_openAction->setEnabled(canOpen);
    if (!e) {
        m_detailStack->setCurrentIndex(0);
        return;
    }
    m_detailStack->setCurrentIndex(1);
    m_eventId->setText(QString::number(e->id));
    m_sequence->setText(e->seq ? QString::number(*e->seq)
                               : tr("not yet sealed (sealed by a later commit or an audit seal)"));
    // To the millisecond in the zone shown; the same instant in UTC beside it when another
    // zone is shown (auditors compare with server logs, which are in UTC).
    const DisplayZone *zone = DisplayZone::instance();
    QString time = zone->format(e->occurredAt, TimePrecision::Milliseconds);
    if (e->occurredAt.toTimeZone(zone->zone()).offsetFromUtc() != 0)
        time +=
            tr(" (%1 UTC)")
                .arg(formatInstant(e->occurredAt, QTimeZone::utc(), TimePrecision::Milliseconds));
    m_occurredAt->setText(time);
    m_operatorValue->setText(e->operatorName);
    m_sessionRole->setText(e->sessionRole);
    m_actionValue->setText(e->action);
    m_object->setText(e->objectId.isEmpty()
                          ? tr("%1 (no id)").arg(e->objectType)
                          : QStringLiteral("%1 %2").arg(e->objectType, e->objectId));
    m_openButton->setEnabled(canOpen);
    m_prevHash->setText(QString::fromLatin1(e->prevHash.toHex()));
    m_hash->setText(QString::fromLatin1(e->hash.toHex()));
    m_details->setPlainText(indentJson(e->details));
    m_clientInfo->setPlainText(indentJson(e->clientInfo));
}

void AuditLogView::updateStatus()
{
    // Counts spelled out in full: without a loaded translation, %n would show "event(s)".
    const int rows = m_model->rowCount();
    if (m_model->isLoading())
        m_status->setText(rows == 0 ? tr("Loading audit events…")
                                    : tr("%1 events shown; loading more…").arg(rows));
    else if (rows == 0 && m_model->atEnd())
        m_status->setText(m_model->filter().isEmpty() ? tr("The audit log is empty.")
                                                      : tr("No events match the filter."));
    else if (m_model->atEnd())
        m_status->setText(rows == 1 ? tr("1 matching event shown.")
                                    : tr("All %1 matching events shown.").arg(rows));
    else
        m_status->setText(tr("%1 newest events shown; scroll down for older ones.").arg(rows));
}

void AuditLogView::showLoadError(const Error &error)
{
    m_bannerText->setText(tr("The audit log could not be loaded: %1").arg(error.message));
    m_bannerText->setToolTip(error.detail);
    m_banner->show();
    m_status->setText(tr("Not loaded."));
}

bool AuditLogView::eventFilter(QObject *watched, QEvent *event)
{
    if (watched == m_filterBar && event->type() == QEvent::KeyPress) {
        const auto *key = static_cast<QKeyEvent *>(event);
        if (key->key() == Qt::Key_Return || key->key() == Qt::Key_Enter) {
            applyFilter();
            return true;
        }
    }
    return QWidget::eventFilter(watched, event);
}

} // namespace ledger
