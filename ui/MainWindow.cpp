#include "MainWindow.h"

#include "DisplayZone.h"
#include "ItemViews.h"

#include "AccountListModel.h"
#include "AccountWorkspace.h"
#include "ApprovalsInboxView.h"
#include "AuditLogView.h"
#include "HealthView.h"
#include "MyRequestsView.h"
#include "ReconExceptionPanel.h"
#include "ReconImportDialog.h"
#include "ReconciliationView.h"
#include "ReportsView.h"
#include "ReversalRequestDialog.h"
#include "SessionLockOverlay.h"
#include "StatementExportDialog.h"
#include "StatementsView.h"
#include "async/WhenReady.h"
#include "console/ReportService.h"
#include "console/StatementService.h"
#include "session/ConsoleSession.h"

#include <QAction>
#include <QActionGroup>
#include <QApplication>
#include <QCloseEvent>
#include <QComboBox>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QEvent>
#include <QFileDialog>
#include <QFrame>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QKeySequence>
#include <QLabel>
#include <QLineEdit>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QPushButton>
#include <QScreen>
#include <QSettings>
#include <QSplitter>
#include <QStatusBar>
#include <QStyle>
#include <QTabWidget>
#include <QTableView>
#include <QTimer>
#include <QUrl>
#include <QVBoxLayout>

#include <utility>

namespace ledger {

MainWindow::MainWindow(AccountListModel *accounts, const QString &connectionLabel,
                       bool directConnection, QWidget *parent)
    : QMainWindow(parent)
    , m_accounts(accounts)
{
    setObjectName(QStringLiteral("MainWindow"));
    setWindowTitle(directConnection
                       ? tr("Ledger Console — %1 — direct connection (no time-limited sign-in)")
                             .arg(connectionLabel)
                       : tr("Ledger Console — %1").arg(connectionLabel));
    createCentralWidget();
    createActions();

    m_connectionLabel = connectionLabel;
    m_connectionStatus = new QLabel(connectionLabel, this);

    // Plain text: it shows values from the database (or messages quoting them).

    m_connectionStatus->setTextFormat(Qt::PlainText);
    m_connectionStatus->setObjectName(QStringLiteral("connectionStatus"));
    m_countStatus = new QLabel(this);
    m_countStatus->setObjectName(QStringLiteral("countStatus"));
    statusBar()->addWidget(m_connectionStatus, 1);
    statusBar()->addPermanentWidget(m_countStatus);
    m_zoneStatus = new QLabel(this);
    m_zoneStatus->setObjectName(QStringLiteral("zoneStatus"));
    statusBar()->addPermanentWidget(m_zoneStatus);
    showDisplayZone();

    connect(m_accounts, &AccountListModel::loadingChanged, this, [this](bool loading) {
        // A page arriving for a scroll ends a loading too: the count comes back.
        m_countStatus->setText(loading ? tr("Loading accounts…")
                                       : tr("%n account(s)", nullptr, m_accounts->rowCount()));
    });
    // Keep the user's place across reloads (refresh, filter, sort, re-authentication).
    connect(m_accountView->selectionModel(), &QItemSelectionModel::currentChanged, this,
            [this](const QModelIndex &current) {
                const QString code = current.data(AccountListModel::AccountCodeRole).toString();
                if (!code.isEmpty())
                    m_selectedCode = code;
            });
    connect(m_accounts, &AccountListModel::currenciesChanged, this,
            [this](const QStringList &currencies) {
                // The currencies the ledger uses, for the navigator's filter.
                const QString chosen = m_currencyFilter->currentData().toString();
                const QSignalBlocker quiet(m_currencyFilter); // the filter itself is unchanged
                m_currencyFilter->clear();
                m_currencyFilter->addItem(tr("any currency"), QString());
                for (const QString &c : currencies)
                    m_currencyFilter->addItem(c, c);
                m_currencyFilter->setCurrentIndex(qMax(0, m_currencyFilter->findData(chosen)));
            });
    connect(m_accounts, &AccountListModel::loaded, this, [this](int count) {
        hideError();
        m_countStatus->setText(tr("%n account(s)", nullptr, count));
        // A search the user settled on goes on record with its number of matches.
        if (!m_searchToRecord.isEmpty() && m_searchToRecord == m_accounts->query().text) {
            m_accounts->noteSearch(m_searchToRecord, count);
            m_searchToRecord.clear();
        }
        if (!m_selectedCode.isEmpty())
            m_accounts->locate(m_selectedCode);
        fitNavigator();
    });
    connect(m_accounts, &AccountListModel::located, this, [this](const QString &code, int row) {
        const bool asked = std::exchange(m_announceLocate, false);
        if (code != m_selectedCode)
            return;
        if (row < 0) {
            if (!asked)
                return; // the user's own filter hides it: nothing to say
            statusBar()->showMessage(
                tr("Account %1 is not in the navigator's list (clear its filter to see it).")
                    .arg(code),
                8000);
            return;
        }
        const QModelIndex i = m_accounts->index(row, AccountListModel::Code);
        m_accountView->setCurrentIndex(i);
        m_accountView->scrollTo(i);
    });
    connect(m_accounts, &AccountListModel::loadFailed, this, [this](const ledger::Error &error) {
        m_countStatus->clear(); // not "0 account(s)" beside the error
        showError(error);
    });
    // Pages that arrive later (a scroll, a reload) widen the columns their values need.
    connect(m_accounts, &QAbstractItemModel::dataChanged, this,
            [this](const QModelIndex &top, const QModelIndex &bottom) {
                if (m_fittedOnce)
                    widenToRows(m_accountView,
                                {AccountListModel::Code, AccountListModel::Kind,
                                 AccountListModel::Currency, AccountListModel::Balance,
                                 AccountListModel::NormalSide, AccountListModel::OpenedAt},
                                top.row(), bottom.row());
            });

    placeOnScreen(); // until restoreLayout() finds the size the user left
    restoreLayout();
}

void MainWindow::placeOnScreen()
{
    // Nine tenths of the screen's free area, at least 1400×860 (a small laptop's screen is
    // nearly all used) and at most 1800×1100 (no wall of empty space on a big monitor), and
    // never a window with edges off the screen. The frame is not known before a window
    // manager has the window, so a title bar's room is left.
    const QRect free = screen()->availableGeometry();
    const int titleBar = fontMetrics().height() * 2 + 8;
    // Where the window's inside may go: below a title bar, inside its side and bottom edges.
    const QRect room = free.adjusted(4, titleBar, -4, -4);
    const QSize size = QSize(qMin(1800, qMax(1400, free.width() * 9 / 10)),
                             qMin(1100, qMax(860, free.height() * 9 / 10)))
                           .boundedTo(room.size())
                           .expandedTo(QSize(400, 300));
    setGeometry(QStyle::alignedRect(Qt::LeftToRight, Qt::AlignCenter, size, room));
}

void MainWindow::fitNavigator()
{
    // Once, on a first run: every visible column of the navigator shows its header and
    // values in full, and the split gives the navigator what that takes (half the window
    // at most); the workspace gets the rest, and all of any later widening.
    // Measured on accounts that are there, in a window that is shown (an empty first list
    // would fit the columns to their headers for good).
    if (m_fittedOnce || m_accounts->rowCount() == 0 || !m_accountView->isVisible())
        return;
    m_fittedOnce = true;
    if (!m_columnsRemembered) {
        // The headers first, then every row of the first page (not only those in view).
        fitToContents(m_accountView,
                      {AccountListModel::Code, AccountListModel::Kind, AccountListModel::Currency,
                       AccountListModel::Balance},
                      ColumnFit::Fit);
        widenToRows(m_accountView,
                    {AccountListModel::Code, AccountListModel::Kind, AccountListModel::Currency,
                     AccountListModel::Balance},
                    0, m_accounts->rowCount() - 1);
    }
    if (!m_splitter || m_splitRemembered)
        return;
    const QMargins margins = m_splitter->widget(0)->layout()->contentsMargins();
    const int total = m_splitter->width() - m_splitter->handleWidth();
    const int navigator =
        qMin(widthForAllColumns(m_accountView) + margins.left() + margins.right(), total / 2);
    m_splitter->setSizes({navigator, total - navigator});
}

void MainWindow::createCentralWidget()
{
    auto *central = new QWidget(this);
    auto *layout = new QVBoxLayout(central);
    layout->setContentsMargins(8, 8, 8, 8);

    // Error banner: what went wrong, what to do, and a Retry. Hidden while all is well.
    m_banner = new QFrame(central);
    m_banner->setObjectName(QStringLiteral("errorBanner"));
    m_banner->setFrameShape(QFrame::StyledPanel);
    m_banner->setStyleSheet(QStringLiteral("#errorBanner { background: palette(base); border: 1px "
                                           "solid #c0392b; border-radius: 4px; }"));
    auto *bannerLayout = new QHBoxLayout(m_banner);
    m_bannerText = new QLabel(m_banner);
    // Plain text: it shows values from the database (or messages quoting them).
    m_bannerText->setTextFormat(Qt::PlainText);
    m_bannerText->setWordWrap(true);
    m_bannerText->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_retry = new QPushButton(tr("&Retry"), m_banner);
    m_retry->setAccessibleName(tr("Retry loading"));
    bannerLayout->addWidget(m_bannerText, 1);
    bannerLayout->addWidget(m_retry);
    connect(m_retry, &QPushButton::clicked, m_accounts, &AccountListModel::refresh);
    m_banner->hide();
    layout->addWidget(m_banner);

    auto *searchRow = new QHBoxLayout;
    auto *searchLabel = new QLabel(tr("&Find account:"), central);
    m_search = new QLineEdit(central);
    m_search->setObjectName(QStringLiteral("accountSearch"));
    m_search->setPlaceholderText(tr("code or name"));
    m_search->setClearButtonEnabled(true);
    m_search->setAccessibleName(tr("Find account by code or name"));
    searchLabel->setBuddy(m_search);
    searchRow->addWidget(searchLabel);
    searchRow->addWidget(m_search, 1);
    m_kindFilter = new QComboBox(central);
    m_kindFilter->setObjectName(QStringLiteral("kindFilter"));
    m_kindFilter->setAccessibleName(tr("Filter accounts by kind"));
    m_kindFilter->addItem(tr("any kind"), QString());
    for (AccountKind k : {AccountKind::Asset, AccountKind::Liability, AccountKind::Equity,
                          AccountKind::Income, AccountKind::Expense})
        m_kindFilter->addItem(toString(k), toString(k));
    m_currencyFilter = new QComboBox(central);
    m_currencyFilter->setObjectName(QStringLiteral("currencyFilter"));
    m_currencyFilter->setAccessibleName(tr("Filter accounts by currency"));
    m_currencyFilter->addItem(tr("any currency"), QString());
    searchRow->addWidget(m_kindFilter);
    searchRow->addWidget(m_currencyFilter);
    layout->addLayout(searchRow);

    // The server filters: typing waits for a pause, the choices apply at once.
    m_searchDelay = new QTimer(this);
    m_searchDelay->setSingleShot(true);
    m_searchDelay->setInterval(250);
    connect(m_search, &QLineEdit::textChanged, m_searchDelay, qOverload<>(&QTimer::start));
    connect(m_searchDelay, &QTimer::timeout, this, &MainWindow::applyAccountFilter);
    connect(m_kindFilter, &QComboBox::currentIndexChanged, this, &MainWindow::applyAccountFilter);
    connect(m_currencyFilter, &QComboBox::currentIndexChanged, this,
            &MainWindow::applyAccountFilter);
    // A search is on record once the user settles on it (Enter, or leaving the field), not
    // for every keystroke: when its results have arrived, with how many there are.
    connect(m_search, &QLineEdit::editingFinished, this, [this] {
        const QString text = m_search->text().trimmed();
        if (text.isEmpty() || text == m_recordedSearch)
            return;
        m_recordedSearch = text;
        m_searchToRecord = text;
        if (m_searchDelay->isActive() || text != m_accounts->query().text) {
            m_searchDelay->stop();
            applyAccountFilter(); // loaded() records it
        } else if (!m_accounts->isLoading()) {
            m_accounts->noteSearch(text, m_accounts->rowCount());
            m_searchToRecord.clear();
        }
    });

    m_accountView = new QTableView(central);
    m_accountView->setObjectName(QStringLiteral("accountView"));
    m_accountView->setAccessibleName(tr("Accounts"));
    m_accountView->setModel(m_accounts);
    // Sorting is the server's (the model reloads in the new order).
    m_accountView->setSortingEnabled(true);
    m_accountView->sortByColumn(AccountListModel::Code, Qt::AscendingOrder);
    m_accountView->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_accountView->setSelectionMode(QAbstractItemView::ExtendedSelection);
    m_accountView->setAlternatingRowColors(true);
    m_accountView->setWordWrap(false);
    // Fixed row heights: never size rows to contents on large models.
    m_accountView->verticalHeader()->setSectionResizeMode(QHeaderView::Fixed);
    m_accountView->verticalHeader()->setDefaultSectionSize(fontMetrics().height() + 8);
    m_accountView->verticalHeader()->hide();
    // Every value in full: the name takes what the other columns leave (never less than
    // about 24 characters: the list scrolls sideways first), the others are widened to their
    // values once the first accounts are here. Normal side and opening time are one click
    // away in the header's menu.
    stretchWithMinimum(m_accountView, AccountListModel::Name,
                       fontMetrics().averageCharWidth() * 24);
    m_accountView->setColumnHidden(AccountListModel::NormalSide, true);
    m_accountView->setColumnHidden(AccountListModel::OpenedAt, true);
    addColumnChooser(m_accountView);
    layout->addWidget(m_accountView, 1);

    setCentralWidget(central);
}

QTabWidget *MainWindow::ensureTabs()
{
    if (!m_tabs) {
        m_tabs = new QTabWidget(this);
        m_tabs->setObjectName(QStringLiteral("mainTabs"));
        m_accountsPage = takeCentralWidget();
        m_tabs->addTab(m_accountsPage, tr("&Accounts"));
        setCentralWidget(m_tabs);
    }
    return m_tabs;
}

AuditLogView *MainWindow::addAuditLog(AuditService *audit)
{
    m_auditLog = new AuditLogView(audit, ensureTabs());
    m_tabs->addTab(m_auditLog, tr("Au&dit log"));
    connect(m_auditLog, &AuditLogView::openObjectRequested, this, &MainWindow::openObject);
    return m_auditLog;
}

void MainWindow::addCorrections(ReversalService *reversals, LedgerService *ledger)
{
    m_reversals = reversals;
    m_ledger = ledger;
    ensureTabs();
    m_inbox = new ApprovalsInboxView(reversals, m_tabs);
    m_tabs->addTab(m_inbox, tr("A&pprovals"));
    m_myRequests = new MyRequestsView(reversals, m_tabs);
    m_tabs->addTab(m_myRequests, tr("&My requests"));
    auto openTransaction = [this](qint64 id) {
        openObject(QStringLiteral("transaction"), QString::number(id));
    };
    connect(m_inbox, &ApprovalsInboxView::openTransactionRequested, this, openTransaction);
    connect(m_myRequests, &MyRequestsView::openTransactionRequested, this, openTransaction);
    connect(m_myRequests, &MyRequestsView::openAuditEventsRequested, this,
            [this](const QString &objectType, const QString &objectId) {
                if (!m_auditLog)
                    return;
                m_tabs->setCurrentWidget(m_auditLog);
                m_auditLog->showEventsOf(objectType, objectId);
            });
    if (m_workspace)
        connect(m_workspace, &AccountWorkspace::reversalRequested, this,
                &MainWindow::requestReversal);
    if (m_recon)
        m_recon->panel()->setCorrectionsAvailable(true);
}

ReversalRequestDialog *MainWindow::requestReversal(qint64 transactionId)
{
    if (!m_reversals || !m_ledger || transactionId <= 0)
        return nullptr;
    auto *dialog = new ReversalRequestDialog(m_reversals, m_ledger, transactionId, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(dialog, &ReversalRequestDialog::submitted, this, [this](qint64 requestId) {
        statusBar()->showMessage(
            tr("Reversal request #%1 sent; it waits in the approvals inbox.").arg(requestId), 8000);
    });
    dialog->show();
    Q_EMIT reversalDialogOpened(dialog);
    return dialog;
}

ReconciliationView *MainWindow::addReconciliation(ReconService *recon)
{
    m_reconService = recon;
    ensureTabs();
    m_recon = new ReconciliationView(recon, m_tabs);
    m_tabs->addTab(m_recon, tr("&Reconciliation"));
    m_recon->panel()->setCorrectionsAvailable(m_reversals && m_ledger);
    connect(m_recon, &ReconciliationView::importRequested, this,
            [this](const QString &path) { importBankStatement(path); });
    connect(m_recon, &ReconciliationView::correctionRequested, this,
            [this](qint64 exceptionId, qint64 transactionId, qint64 expectedEvent) {
                ReversalRequestDialog *dialog = requestReversal(transactionId);
                if (!dialog)
                    return;
                // The request sent for the exception's transaction resolves the exception
                // (linked both ways on the server).
                connect(dialog, &ReversalRequestDialog::submitted, m_recon,
                        [view = m_recon, exceptionId, expectedEvent](qint64 requestId) {
                            view->resolveByCorrection(exceptionId, requestId, expectedEvent);
                        });
            });
    auto *import = new QAction(tr("Import &bank statement…"), this);
    import->setStatusTip(tr("Import a camt.053, MT940 or CSV bank statement and match it"));
    connect(import, &QAction::triggered, this, [this] { importBankStatement(); });
    const QList<QAction *> items = m_fileMenu->actions();
    m_fileMenu->insertAction(items.value(items.size() - 2), import); // above Quit's separator
    return m_recon;
}

ReportsView *MainWindow::addReports(ReportService *reports)
{
    m_reportService = reports;
    ensureTabs();
    m_reports = new ReportsView(reports, m_tabs);
    m_reports->setExportedBy(m_connectionLabel);
    m_tabs->addTab(m_reports, tr("Re&ports"));
    m_reportsStatus = new QLabel(this);
    m_reportsStatus->setObjectName(QStringLiteral("reportsStatus"));
    m_reportsStatus->setTextFormat(Qt::PlainText);
    statusBar()->addPermanentWidget(m_reportsStatus);
    m_reportsPoll = new QTimer(this);
    m_reportsPoll->setInterval(30'000);
    connect(m_reportsPoll, &QTimer::timeout, this, &MainWindow::refreshReportsStatus);
    m_reportsPoll->start();
    // A report shows where it was read: the indicator follows at once.
    connect(m_reports, &ReportsView::reportShown, this, &MainWindow::refreshReportsStatus);
    if (!m_session) { // a direct connection: no sign-in to wait for
        refreshReportsStatus();
        m_reports->refreshExports();
    }
    return m_reports;
}

HealthView *MainWindow::addHealth(HealthService *health)
{
    ensureTabs();
    m_health = new HealthView(health, m_reportService, m_tabs);
    m_tabs->addTab(m_health, tr("&Health"));
    if (m_session)
        m_health->setSessionExpiresAt(m_session->expiresAt());
    connect(m_health, &HealthView::actRequested, this, [this](HealthTarget target) {
        QWidget *page = nullptr;
        switch (target) {
        case HealthTarget::Reconciliation:
            page = m_recon;
            break;
        case HealthTarget::Audit:
            page = m_auditLog;
            break;
        case HealthTarget::Reports:
            page = m_reports;
            break;
        case HealthTarget::DeadLetters:
        case HealthTarget::Invariants:
        case HealthTarget::Session:
        case HealthTarget::None:
            break; // shown in the health tab itself
        }
        if (page)
            m_tabs->setCurrentWidget(page);
    });
    return m_health;
}

void MainWindow::attachReportingSession(ConsoleSession *session)
{
    m_storeSession = session;
    if (m_session)
        connect(m_session, &ConsoleSession::locked, session, [session] {
            if (session->state() == ConsoleSession::State::Active)
                session->signOut();
        });
    connect(session, &ConsoleSession::signedIn, this, &MainWindow::refreshReportsStatus);
    const auto ended = [this](const QString &why) {
        if (!m_reportsStatus)
            return;
        m_reportsStatus->setText(tr("Reports: no store session"));
        m_reportsStatus->setToolTip(why);
        m_reportsStatus->setStyleSheet(QStringLiteral("color: #b00020;"));
        Q_EMIT reportsStatusChanged(m_reportsStatus->text());
    };
    connect(session, &ConsoleSession::signInFailed, this,
            [ended](const Error &error) { ended(error.message); });
    connect(session, &ConsoleSession::locked, this, ended);
    connect(session, &ConsoleSession::stateChanged, this, [ended](ConsoleSession::State state) {
        if (state == ConsoleSession::State::SignedOut)
            ended(tr("Signed out of the reporting store: sign in again for reports "
                     "from it."));
    });
}

void MainWindow::refreshReportsStatus()
{
    if (!m_reportService || (m_session && m_session->state() != ConsoleSession::State::Active))
        return;
    const int maxLag = m_reportService->maxLagSeconds();
    whenReady(
        m_reportService->sourceState(), m_reportsStatus,
        [this, maxLag](const Result<ReportSourceState> &state) {
            QString text;
            QString tip;
            bool warn = false;
            if (!state) {
                text = tr("Reports: store unreachable");
                tip = state.error().message;
                warn = true;
            } else if (!state.value().isStore) {
                text = tr("Reports: from the ledger");
                tip = tr("No separate reporting store: the ledger serves reports.");
            } else {
                const QDateTime at = state.value().replicatedAt;
                const QString verdict = ReportService::storeVerdict(
                    state.value(), QDateTime::currentDateTimeUtc(), maxLag);
                warn = !verdict.isEmpty();
                text =
                    at.isValid()
                        ? tr("Reports: store %1 s behind")
                              .arg(std::max<qint64>(0, at.secsTo(QDateTime::currentDateTimeUtc())))
                        : tr("Reports: store has nothing yet");
                tip = warn ? verdict
                           : tr("The reporting store has replicated the ledger through %1.")
                                 .arg(DisplayZone::instance()->format(at));
            }
            m_reportsStatus->setText(text);
            m_reportsStatus->setToolTip(tip);
            m_reportsStatus->setStyleSheet(warn ? QStringLiteral("color: #b00020;") : QString());
            Q_EMIT reportsStatusChanged(text);
        });
}

ReconImportDialog *MainWindow::importBankStatement(const QString &path)
{
    if (!m_reconService)
        return nullptr;
    if (m_recon)
        m_tabs->setCurrentWidget(m_recon);
    auto *dialog = new ReconImportDialog(m_reconService, path, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->show();
    Q_EMIT reconImportDialogOpened(dialog);
    return dialog;
}

void MainWindow::addStatements(StatementService *statements)
{
    m_statements = statements;
    QAction *beforeQuit = m_fileMenu->actions().value(1); // the separator above Quit
    m_statementAction = new QAction(tr("&Statement…"), this);
    m_statementAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_E));
    m_statementAction->setStatusTip(tr("Issue a statement of the open account as a file"));
    connect(m_statementAction, &QAction::triggered, this, [this] { exportStatement(); });
    auto *verify = new QAction(tr("&Verify a statement file…"), this);
    connect(verify, &QAction::triggered, this, [this] {
        const QString path =
            QFileDialog::getOpenFileName(this, tr("Verify a statement file"), QString(),
                                         tr("Statements (*.pdf *.csv *.xml);;All files (*)"));
        if (!path.isEmpty())
            verifyStatementFile(path);
    });
    m_fileMenu->insertSeparator(beforeQuit);
    m_fileMenu->insertAction(beforeQuit, m_statementAction);
    m_fileMenu->insertAction(beforeQuit, verify);

    m_statementsView = new StatementsView(statements, ensureTabs());
    m_tabs->addTab(m_statementsView, tr("S&tatements"));
    connect(m_statementsView, &StatementsView::openObjectRequested, this, &MainWindow::openObject);
    // The batch's currency choice offers the currencies the navigator knows of.
    const auto offerCurrencies = [this](const QStringList &currencies) {
        m_statementsView->setCurrencies(currencies);
    };
    QStringList known;
    for (int i = 1; i < m_currencyFilter->count(); ++i) // item 0 is "any currency"
        known.append(m_currencyFilter->itemData(i).toString());
    offerCurrencies(known);
    connect(m_accounts, &AccountListModel::currenciesChanged, this, offerCurrencies);
    setAcceptDrops(true);
}

namespace {

// The local files among dropped URLs (a drop from a browser may carry remote ones).
QStringList droppedFiles(const QMimeData *mime)
{
    QStringList files;
    if (!mime || !mime->hasUrls())
        return files;
    for (const QUrl &url : mime->urls())
        if (url.isLocalFile())
            files.append(url.toLocalFile());
    return files;
}

} // namespace

void MainWindow::dragEnterEvent(QDragEnterEvent *event)
{
    if (m_statements && !droppedFiles(event->mimeData()).isEmpty())
        event->acceptProposedAction();
    else
        QMainWindow::dragEnterEvent(event);
}

void MainWindow::dragMoveEvent(QDragMoveEvent *event)
{
    if (m_statements && !droppedFiles(event->mimeData()).isEmpty())
        event->acceptProposedAction();
    else
        QMainWindow::dragMoveEvent(event);
}

void MainWindow::dropEvent(QDropEvent *event)
{
    const QStringList files = m_statements ? droppedFiles(event->mimeData()) : QStringList();
    if (files.isEmpty()) {
        QMainWindow::dropEvent(event);
        return;
    }
    event->acceptProposedAction();
    for (const QString &path : files)
        verifyStatementFile(path);
}

StatementExportDialog *MainWindow::exportStatement()
{
    if (!m_statements)
        return nullptr;
    const QString account = m_workspace ? m_workspace->accountCode() : QString();
    auto *dialog = new StatementExportDialog(m_statements, account, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(dialog, &StatementExportDialog::exported, this, [this](const StatementRecord &r) {
        statusBar()->showMessage(tr("Statement %1 issued.").arg(r.reference), 8000);
    });
    dialog->show();
    Q_EMIT statementDialogOpened(dialog);
    return dialog;
}

void MainWindow::verifyStatementFile(const QString &path)
{
    if (!m_statements)
        return;
    statusBar()->showMessage(tr("Verifying %1…").arg(path));
    whenReady(m_statements->verifyFile(path), this,
              [this, path](const Result<std::optional<StatementRecord>> &result) {
                  // GUI thread.
                  statusBar()->clearMessage();
                  QString text;
                  bool found = false;
                  QMessageBox::Icon icon = QMessageBox::Warning;
                  if (!result) {
                      text = result.error().message;
                  } else if (!result.value()) {
                      text = tr("No statement with the content of %1 was issued by this ledger: "
                                "the file is not one it issued, or it was changed since.")
                                 .arg(path);
                  } else {
                      found = true;
                      icon = QMessageBox::Information;
                      text = tr("%1 is exactly the file issued.").arg(path) + QLatin1Char('\n') +
                             StatementExportDialog::describe(*result.value());
                  }
                  auto *box = new QMessageBox(icon, tr("Verify a statement file"), text,
                                              QMessageBox::Close, this);
                  box->setAttribute(Qt::WA_DeleteOnClose);
                  box->setTextInteractionFlags(Qt::TextSelectableByMouse);
                  box->open();
                  Q_EMIT statementVerified(text, found);
              });
}

void MainWindow::applyAccountFilter()
{
    m_accounts->setFilter(m_search->text().trimmed(), m_kindFilter->currentData().toString(),
                          m_currencyFilter->currentData().toString());
}

void MainWindow::selectAccount(const QString &code)
{
    m_selectedCode = code;
    m_announceLocate = true;
    m_accounts->locate(code);
}

void MainWindow::openObject(const QString &objectType, const QString &objectId)
{
    if (objectType == QLatin1String("account")) {
        if (m_tabs)
            m_tabs->setCurrentWidget(m_accountsPage);
        selectAccount(objectId); // in the navigator when listed (a message says if not)
        if (m_workspace)
            m_workspace->openAccount(objectId); // its timeline, whether listed or filtered out
        else
            m_accountView->setFocus();
        return;
    }
    bool isNumber = false;
    const qint64 id = objectId.toLongLong(&isNumber);
    if (objectType == QLatin1String("transaction") && isNumber && m_workspace) {
        m_workspace->openTransaction(id);
        return;
    }
    statusBar()->showMessage(tr("There is no view for a %1 yet (%2).").arg(objectType, objectId),
                             8000);
}

void MainWindow::createActions()
{
    QMenu *file = menuBar()->addMenu(tr("&File"));
    m_fileMenu = file;
    QAction *refresh = file->addAction(tr("&Refresh"));
    refresh->setShortcut(QKeySequence::Refresh);
    connect(refresh, &QAction::triggered, m_accounts, &AccountListModel::refresh);
    file->addSeparator();
    QAction *quit = file->addAction(tr("&Quit"));
    quit->setShortcut(QKeySequence::Quit);
    connect(quit, &QAction::triggered, this, &QWidget::close);

    QMenu *view = menuBar()->addMenu(tr("&View"));
    QAction *find = view->addAction(tr("&Find account"));
    find->setShortcut(QKeySequence::Find);
    connect(find, &QAction::triggered, this, [this] {
        m_search->setFocus(Qt::ShortcutFocusReason);
        m_search->selectAll();
    });

    QAction *accounts = view->addAction(tr("&Accounts"));
    accounts->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_1));
    connect(accounts, &QAction::triggered, this,
            [this] { m_accountView->setFocus(Qt::ShortcutFocusReason); });
    QAction *timeline = view->addAction(tr("&Timeline"));
    timeline->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_2));
    connect(timeline, &QAction::triggered, this, [this] {
        if (m_workspace)
            m_workspace->setFocus(Qt::ShortcutFocusReason);
    });

    // The zone every time is shown and typed in (DisplayZone): one of two, kept across
    // restarts. Views and models follow DisplayZone::changed themselves.
    view->addSeparator();
    DisplayZone *zone = DisplayZone::instance();
    auto *zones = new QActionGroup(this);
    zones->setExclusive(true);
    m_localTimeAction = view->addAction(tr("&Local time (%1)").arg(DisplayZone::localZoneName()));
    m_localTimeAction->setObjectName(QStringLiteral("viewLocalTime"));
    m_utcAction = view->addAction(tr("&UTC"));
    m_utcAction->setObjectName(QStringLiteral("viewUtc"));
    for (QAction *a : {m_localTimeAction, m_utcAction}) {
        a->setCheckable(true);
        zones->addAction(a);
    }
    connect(m_localTimeAction, &QAction::triggered, zone,
            [zone] { zone->setMode(DisplayZone::Mode::Local); });
    connect(m_utcAction, &QAction::triggered, zone,
            [zone] { zone->setMode(DisplayZone::Mode::Utc); });
    connect(zone, &DisplayZone::changed, this, &MainWindow::showDisplayZone);
    showDisplayZone();

    QMenu *help = menuBar()->addMenu(tr("&Help"));
    QAction *about = help->addAction(tr("&About Ledger Console"));
    connect(about, &QAction::triggered, this, [this] {
        QMessageBox::about(this, tr("About Ledger Console"),
                           tr("<p><b>Ledger Console</b> %1</p><p>Back-office and audit console "
                              "for a PostgreSQL double-entry ledger.</p>")
                               .arg(QApplication::applicationVersion()));
    });
}

void MainWindow::setAccountWorkspace(AccountWorkspace *workspace)
{
    m_workspace = workspace;
    // Navigator | workspace; the split is remembered with the rest of the layout.
    QWidget *navigator = takeCentralWidget();
    m_splitter = new QSplitter(Qt::Horizontal, this);
    m_splitter->setObjectName(QStringLiteral("mainSplitter"));
    m_splitter->addWidget(navigator);
    m_splitter->addWidget(workspace);
    // A wider window widens the workspace; the navigator keeps the width its columns need.
    m_splitter->setStretchFactor(0, 0);
    m_splitter->setStretchFactor(1, 1);
    setCentralWidget(m_splitter);
    // First run: fitted to the navigator's columns once the accounts are here (fitNavigator);
    // later runs: as the user left it.
    m_splitRemembered = m_splitter->restoreState(
        QSettings().value(QStringLiteral("mainWindow/splitter")).toByteArray());
    if (!m_splitRemembered)
        m_splitter->setSizes({width() * 2 / 5, width() * 3 / 5});
    connect(m_accountView, &QTableView::activated, workspace, [workspace](const QModelIndex &i) {
        const QString code = i.data(AccountListModel::AccountCodeRole).toString();
        if (!code.isEmpty()) // empty while the row's page is on its way
            workspace->openAccount(code);
    });
    connect(workspace, &AccountWorkspace::statusMessage, this,
            [this](const QString &message) { statusBar()->showMessage(message, 8000); });
    if (m_reversals)
        connect(workspace, &AccountWorkspace::reversalRequested, this,
                &MainWindow::requestReversal);
}

void MainWindow::showDisplayZone()
{
    if (!m_zoneStatus || !m_localTimeAction)
        return; // not built yet
    const DisplayZone *zone = DisplayZone::instance();
    m_localTimeAction->setChecked(!zone->isUtc());
    m_utcAction->setChecked(zone->isUtc());
    m_zoneStatus->setText(tr("Times in %1").arg(zone->zoneName()));
    m_zoneStatus->setToolTip(tr("Times are shown and typed in %1 (View menu: Local time or "
                                "UTC). A time typed without an offset is read in this zone.")
                                 .arg(zone->zoneName()));
    if (m_session && m_session->expiresAt().isValid())
        describeSession(m_session->secondsLeft());
}

void MainWindow::describeSession(int secondsLeft)
{
    if (m_health)
        m_health->setSessionExpiresAt(m_session->expiresAt());
    m_sessionStatus->setText(tr("%1 as %2 — %3 left, until %4")
                                 .arg(m_session->operatorName(), m_session->role())
                                 .arg(QStringLiteral("%1:%2")
                                          .arg(secondsLeft / 60)
                                          .arg(secondsLeft % 60, 2, 10, QLatin1Char('0')))
                                 .arg(DisplayZone::instance()->format(m_session->expiresAt())));
}

void MainWindow::attachSession(ConsoleSession *session)
{
    m_session = session;
    m_sessionStatus = new QLabel(this);
    // Plain text: it shows values from the database (or messages quoting them).
    m_sessionStatus->setTextFormat(Qt::PlainText);
    m_sessionStatus->setObjectName(QStringLiteral("sessionStatus"));
    statusBar()->addPermanentWidget(m_sessionStatus);
    m_lock = new SessionLockOverlay(this);
    connect(m_lock, &SessionLockOverlay::signInRequested, this, &MainWindow::signInRequested);

    auto describe = [this](int secondsLeft) { describeSession(secondsLeft); };
    connect(session, &ConsoleSession::tick, this, describe);
    connect(session, &ConsoleSession::expiring, this, [this](int secondsLeft) {
        m_bannerText->setText(
            tr("Your session ends in %1 s. Keep working to renew it, or save what you need.")
                .arg(secondsLeft));
        m_retry->setVisible(false);
        m_banner->show();
    });
    connect(session, &ConsoleSession::renewed, this, [this] {
        if (!m_retry->isVisible())
            m_banner->hide();
    });
    connect(session, &ConsoleSession::locked, this, [this](const QString &reason) {
        // Nothing readable behind the lock: the data widgets are hidden, not just covered.
        centralWidget()->setVisible(false);
        menuBar()->setEnabled(false);
        m_sessionStatus->setText(tr("locked"));
        m_lock->showLocked(reason);
    });
    connect(session, &ConsoleSession::signedIn, this, [this, describe] {
        m_lock->hide();
        centralWidget()->setVisible(true);
        menuBar()->setEnabled(true);
        m_connectionStatus->setText(tr("Signed in as %1").arg(m_session->operatorName()));
        setWindowTitle(tr("Ledger Console — %1").arg(m_session->operatorName()));
        describe(m_session->secondsLeft());
        m_accounts->refresh();
        if (m_auditLog)
            m_auditLog->refresh();
        if (m_inbox)
            m_inbox->refresh();
        if (m_myRequests)
            m_myRequests->refresh();
        if (m_recon)
            m_recon->refresh();
        if (m_reports) {
            m_reports->setExportedBy(m_session->operatorName());
            m_reports->refreshExports();
        }
        refreshReportsStatus();
    });
    // Any key or click counts as activity and renews the session past half its life.
    qApp->installEventFilter(this);
    // (An expired or revoked session seen by any screen locks the window without wiring here:
    // the session hears every failed job of the data worker.)
}

bool MainWindow::eventFilter(QObject *watched, QEvent *event)
{
    if (m_session &&
        (event->type() == QEvent::KeyPress || event->type() == QEvent::MouseButtonPress)) {
        m_session->noteActivity();
        if (m_storeSession && m_storeSession->state() == ConsoleSession::State::Active)
            m_storeSession->noteActivity();
    }
    return QMainWindow::eventFilter(watched, event);
}

void MainWindow::showError(const ledger::Error &error)
{
    m_bannerText->setText(error.message);
    m_bannerText->setToolTip(error.detail);
    // Retry helps with a lost connection, not without a session (signing in does).
    m_retry->setVisible(error.kind != Error::Kind::NotSignedIn && !error.endsSession());
    m_banner->show();
    m_countStatus->setText(tr("Not loaded"));
}

void MainWindow::hideError()
{
    m_banner->hide();
}

void MainWindow::restoreLayout()
{
    // Layout only; QSettings never holds secrets.
    QSettings settings;
    // A size left on a bigger screen than this one is fitted to this one.
    if (restoreGeometry(settings.value(QStringLiteral("mainWindow/geometry")).toByteArray()) &&
        !screen()->availableGeometry().contains(geometry()))
        placeOnScreen();
    restoreState(settings.value(QStringLiteral("mainWindow/state")).toByteArray());
    // A key of its own since the navigator's columns are fitted to their values: a layout
    // saved under the old key (every column shown, fixed widths) is left behind, so the
    // navigator is fitted once after an upgrade too.
    m_columnsRemembered = m_accountView->horizontalHeader()->restoreState(
        settings.value(QStringLiteral("mainWindow/navigatorColumns")).toByteArray());
}

void MainWindow::closeEvent(QCloseEvent *event)
{
    QSettings settings;
    settings.setValue(QStringLiteral("mainWindow/geometry"), saveGeometry());
    settings.setValue(QStringLiteral("mainWindow/state"), saveState());
    settings.setValue(QStringLiteral("mainWindow/navigatorColumns"),
                      m_accountView->horizontalHeader()->saveState());
    if (m_splitter)
        settings.setValue(QStringLiteral("mainWindow/splitter"), m_splitter->saveState());
    QMainWindow::closeEvent(event);
}

} // namespace ledger
