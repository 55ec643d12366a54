//! `cardiorisk`: headless training, evaluation and prediction, sharing the app's code.

use cardiorisk_contract::{AuditChainFault, Measurements};
use cardiorisk_core::service::Services;
use cardiorisk_core::vault::{Lock, Vault};
use cardiorisk_model::data::{read_labelled_file, InvalidRows};
use cardiorisk_model::metrics::evaluate;
use cardiorisk_model::synth::{self, Span};
use cardiorisk_model::{train, ModelPayload, Predictor, TrainConfig};
use clap::{Parser, Subcommand, ValueEnum};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

mod prompt;

#[derive(Parser)]
#[command(
    name = "cardiorisk",
    version,
    about = "CardioRisk from the command line"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train a model on a labelled CSV and write the model file.
    Train {
        #[arg(long)]
        data: PathBuf,
        #[arg(long)]
        out: PathBuf,
        /// Hidden layer sizes, comma separated.
        #[arg(long, value_delimiter = ',', default_values_t = TrainConfig::default().hidden)]
        hidden: Vec<usize>,
        #[arg(long, default_value_t = TrainConfig::default().max_epochs)]
        epochs: usize,
        #[arg(long, default_value_t = TrainConfig::default().batch_size)]
        batch_size: usize,
        #[arg(long, default_value_t = TrainConfig::default().learning_rate)]
        learning_rate: f64,
        #[arg(long, default_value_t = TrainConfig::default().seed)]
        seed: u64,
        #[arg(long, default_value_t = TrainConfig::default().validation_fraction)]
        validation_fraction: f64,
        #[arg(long, default_value_t = TrainConfig::default().patience)]
        patience: usize,
        /// Leave out invalid rows (and count them) instead of refusing the file.
        #[arg(long)]
        skip_invalid: bool,
    },
    /// Score a labelled CSV and print metrics as one JSON object.
    Evaluate {
        #[arg(long)]
        data: PathBuf,
        /// A model file; the embedded model when absent.
        #[arg(long)]
        model: Option<PathBuf>,
    },
    /// Score one patient and print the prediction as JSON.
    Predict {
        #[arg(long)]
        colesterol: String,
        #[arg(long)]
        presion: String,
        #[arg(long)]
        glucosa: String,
        #[arg(long)]
        edad: String,
        #[arg(long)]
        sobrepeso: String,
        #[arg(long)]
        tabaquismo: String,
        #[arg(long)]
        model: Option<PathBuf>,
    },
    /// Score every row of a CSV; adds probability, at_risk and error columns.
    Batch {
        #[arg(long)]
        data: PathBuf,
        #[arg(long)]
        out: PathBuf,
        #[arg(long)]
        model: Option<PathBuf>,
    },
    /// Run the local REST gateway without the window (127.0.0.1 only). The data opens
    /// with an account's password ($CARDIORISK_PASSWORD, else typed at the terminal),
    /// as a sign-in would.
    Serve {
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// The account that opens the data (default: $CARDIORISK_USERNAME).
        #[arg(long)]
        username: Option<String>,
        /// The data directory (default: $CARDIORISK_DATA_DIR, else the app's).
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// First run without the window: create the administrator (password from
    /// $CARDIORISK_PASSWORD, else typed twice at the terminal) and the data key;
    /// prints the recovery key once.
    Setup {
        #[arg(long)]
        username: String,
        #[arg(long)]
        display_name: String,
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Create or change a gateway plan's requests per minute, as an administrator
    /// (password from $CARDIORISK_PASSWORD, else typed at the terminal).
    SetPlan {
        #[arg(long)]
        name: String,
        #[arg(long)]
        per_minute: u32,
        #[arg(long)]
        username: String,
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Every password lost: set an administrator's password with the recovery key
    /// ($CARDIORISK_RECOVERY_KEY; the new password from $CARDIORISK_PASSWORD; each
    /// typed at the terminal when not set, the new password twice).
    Recover {
        #[arg(long)]
        username: String,
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// The audit log.
    Audit {
        #[command(subcommand)]
        action: AuditCommand,
    },
    /// Write synthetic patients drawn like the original data (for held-out checks and fixtures).
    Synth {
        #[arg(long)]
        rows: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long, value_enum, default_value_t = SpanArg::Valid)]
        span: SpanArg,
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check every entry's link to the one before, as an administrator (password
    /// from $CARDIORISK_PASSWORD, else typed at the terminal). Exit status 0 when the chain holds, 1 with the
    /// first broken link when it does not, 2 when it could not be checked.
    Verify {
        #[arg(long)]
        username: String,
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
}

/// About 400 MB of CSV; generated in memory.
const MAX_SYNTH_ROWS: usize = 10_000_000;

#[derive(Clone, Copy, ValueEnum)]
enum SpanArg {
    /// The original file's observed ranges.
    File,
    /// The full valid input ranges.
    Valid,
}

fn load_model(path: &Option<PathBuf>) -> Result<Predictor, String> {
    match path {
        None => Ok(Predictor::embedded()),
        Some(p) => ModelPayload::read(p)
            .and_then(Predictor::new)
            .map_err(|e| e.to_string()),
    }
}

/// The data directory: `--data-dir`, else $CARDIORISK_DATA_DIR, else the app's own.
fn data_dir_of(data_dir: Option<PathBuf>) -> Result<PathBuf, String> {
    Ok(data_dir
        .or_else(|| std::env::var_os(cardiorisk_core::service::DATA_DIR_ENV).map(PathBuf::from))
        .or_else(cardiorisk_core::platform::default_data_dir)
        .ok_or("no data directory: give --data-dir")?)
}

/// Opens the data with `username`'s password from the environment and signs in, as
/// the window's sign-in does (the database is sealed; only a password opens it).
fn sign_in(
    dir: &std::path::Path,
    username: &str,
) -> Result<(Services, cardiorisk_contract::SessionInfo), String> {
    let vault = Vault::new(dir);
    if vault.lock() == Lock::Fresh {
        return Err(format!(
            "no database in {} yet: run `cardiorisk setup` (or start the app) first",
            dir.display()
        ));
    }
    let password = prompt::secret("CARDIORISK_PASSWORD", &format!("{username}'s password"))?;
    let (services, session) = vault
        .sign_in_paced(username, &password)
        .map_err(|e| e.to_string())?;
    if let Some(recovery) = &session.recovery_key {
        print_recovery_key(recovery);
    }
    Ok((services, session))
}

/// The recovery key on stdout (for a printer or a file the administrator chooses),
/// the warning on stderr.
fn print_recovery_key(recovery: &str) {
    eprintln!(
        "RECOVERY KEY (shown only this once): print it or write it down and keep it away \
         from this computer. If every password is lost, only this key opens the data \
         (`cardiorisk recover`); without a password or this key the data cannot be recovered."
    );
    println!("{recovery}");
}

fn run(cli: Cli) -> Result<ExitCode, String> {
    match cli.command {
        Command::Train {
            data,
            out,
            hidden,
            epochs,
            batch_size,
            learning_rate,
            seed,
            validation_fraction,
            patience,
            skip_invalid,
        } => {
            let config = TrainConfig {
                hidden,
                max_epochs: epochs,
                batch_size,
                learning_rate,
                seed,
                validation_fraction,
                patience,
            };
            let invalid = if skip_invalid {
                InvalidRows::Skip
            } else {
                InvalidRows::Refuse
            };
            let loaded = read_labelled_file(&data, invalid).map_err(|e| e.to_string())?;
            if loaded.skipped > 0 {
                eprintln!("skipped {} invalid row(s)", loaded.skipped);
            }
            let mut progress = |r: &cardiorisk_model::EpochReport| {
                let width = 30;
                let done = r.epoch * width / r.max_epochs;
                eprint!(
                    "\r[{}{}] epoch {:>4}/{}  loss {:.4}  val loss {:.4}  val acc {:.4}",
                    "#".repeat(done),
                    " ".repeat(width - done),
                    r.epoch,
                    r.max_epochs,
                    r.train_loss,
                    r.validation_loss,
                    r.validation_accuracy
                );
                let _ = std::io::stderr().flush();
            };
            let model = train(
                &loaded.data,
                loaded.skipped,
                &config,
                &mut progress,
                &AtomicBool::new(false),
            )
            .map_err(|e| e.to_string())?;
            eprintln!();
            model
                .write_atomic(&out)
                .map_err(|e| format!("cannot write {}: {e}", out.display()))?;
            let m = &model.metrics;
            eprintln!(
                "model {} written to {} ({} epochs, best {}, {:.2} s); validation accuracy {:.4}, AUC {:.4}, Brier {:.4}",
                model.version,
                out.display(),
                model.training.epochs_run,
                model.training.best_epoch,
                model.training.seconds,
                m.accuracy,
                m.auc,
                m.brier
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Evaluate { data, model } => {
            let predictor = load_model(&model)?;
            let loaded =
                read_labelled_file(&data, InvalidRows::Refuse).map_err(|e| e.to_string())?;
            let probabilities = predictor.probabilities(&loaded.data.x);
            if let Some(p) = probabilities
                .iter()
                .find(|p| !cardiorisk_model::predictor::is_probability(**p as f64))
            {
                return Err(format!("the model gave {p} for a row: not a probability"));
            }
            let m = evaluate(
                &probabilities,
                &loaded.data.y,
                predictor.payload().threshold,
            );
            let out = serde_json::json!({
                "model_version": predictor.version(),
                "n": m.n,
                "accuracy": m.accuracy,
                "precision": m.precision,
                "recall": m.recall,
                "f1": m.f1,
                "auc": m.auc,
                "brier": m.brier,
                "log_loss": m.log_loss,
                "confusion": m.confusion,
            });
            println!("{out}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Predict {
            colesterol,
            presion,
            glucosa,
            edad,
            sobrepeso,
            tabaquismo,
            model,
        } => {
            let inputs = Measurements::parse(|name| {
                Some(match name {
                    "colesterol" => colesterol.as_str(),
                    "presion" => presion.as_str(),
                    "glucosa" => glucosa.as_str(),
                    "edad" => edad.as_str(),
                    "sobrepeso" => sobrepeso.as_str(),
                    _ => tabaquismo.as_str(),
                })
            })
            .map_err(|e| format!("invalid input: {e}"))?;
            let predictor = load_model(&model)?;
            let prediction = predictor.predict(&inputs).map_err(|e| e.to_string())?;
            println!(
                "{}",
                serde_json::to_string(&prediction).expect("serialises")
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Batch { data, out, model } => {
            let predictor = load_model(&model)?;
            let input = cardiorisk_model::data::open_csv(&data, None).map_err(|e| e.to_string())?;
            let summary = cardiorisk_files::write_atomic_with(&out, |w| {
                cardiorisk_model::batch::score_csv(input, w, &predictor)
            })
            .map_err(|e| {
                format!(
                    "batch scoring stopped, {} left unchanged: {e}",
                    out.display()
                )
            })?;
            eprintln!(
                "{} row(s): {} scored, {} invalid, {} without a probability from the model (see the error column); written to {}",
                summary.rows,
                summary.scored,
                summary.invalid,
                summary.failed,
                out.display()
            );
            if summary.failed > 0 {
                return Err(format!(
                    "the model gave no probability for {} row(s)",
                    summary.failed
                ));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve {
            port,
            username,
            data_dir,
        } => {
            let dir = data_dir_of(data_dir)?;
            let username = match username {
                Some(name) => name,
                None => std::env::var("CARDIORISK_USERNAME").map_err(|_| {
                    "give --username, or set CARDIORISK_USERNAME, to the account that opens the data"
                        .to_string()
                })?,
            };
            // Warnings and errors (a fallback model, a log entry that cannot be
            // written) to the terminal and to the size-capped support log.
            let logs = dir.join("logs");
            if let Err(e) = cardiorisk_core::support::start_logging_with_stderr(&logs) {
                eprintln!(
                    "serve runs without its support log in {}: {e}",
                    logs.display()
                );
            }
            let (services, session) = sign_in(&dir, &username)?;
            // The data is open; serve acts for API clients, not for this account.
            services
                .sign_out(&session.token)
                .map_err(|e| e.to_string())?;
            let services = services.shared();
            log_changes(&services);
            // A fallback to the built-in model was logged as a warning by `open`.
            tracing::info!(
                model = services.model().predictor.version(),
                port,
                "serve starting"
            );
            let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
            let services_for_head = Arc::clone(&services);
            let mut server = cardiorisk_core::gateway::start(
                services,
                addr,
                cardiorisk_core::gateway::limiter::system_clock(),
            )
            .map_err(|e| e.to_string())?;
            let stop = server.stopper();
            cardiorisk_core::signals::on_stop_signal(move || {
                eprintln!("stopping: finishing requests in flight");
                if let Some(stop) = stop {
                    let _ = stop.send(());
                }
            });
            eprintln!("CardioRisk gateway listening on http://{}", server.addr);
            server.wait();
            services_for_head.keep_audit_head();
            eprintln!("CardioRisk gateway stopped; every answered request is in the log");
            Ok(ExitCode::SUCCESS)
        }
        Command::Setup {
            username,
            display_name,
            data_dir,
        } => {
            let dir = data_dir_of(data_dir)?;
            let (_, session) = Vault::new(&dir)
                .set_up(
                    &username,
                    &display_name,
                    &prompt::new_secret("CARDIORISK_PASSWORD", &format!("{username}'s password"))?,
                )
                .map_err(|e| e.to_string())?;
            eprintln!(
                "administrator {username} created; the data in {} is sealed",
                dir.display()
            );
            if let Some(recovery) = &session.recovery_key {
                print_recovery_key(recovery);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::SetPlan {
            name,
            per_minute,
            username,
            data_dir,
        } => {
            let (services, session) = sign_in(&data_dir_of(data_dir)?, &username)?;
            services
                .set_plan(&session.token, &name, per_minute)
                .map_err(|e| e.to_string())?;
            eprintln!("plan {name}: {per_minute} requests per minute");
            Ok(ExitCode::SUCCESS)
        }
        Command::Recover { username, data_dir } => {
            let dir = data_dir_of(data_dir)?;
            let recovery = prompt::secret("CARDIORISK_RECOVERY_KEY", "the recovery key")?;
            let new_password =
                prompt::new_secret("CARDIORISK_PASSWORD", &format!("{username}'s new password"))?;
            Vault::new(&dir)
                .recover(&recovery, &username, &new_password)
                .map_err(|e| e.to_string())?;
            eprintln!("{username}'s password is set; it opens the data from now on");
            Ok(ExitCode::SUCCESS)
        }
        Command::Synth {
            rows,
            seed,
            span,
            out,
        } => {
            if rows == 0 || rows > MAX_SYNTH_ROWS {
                return Err(format!("--rows must be from 1 to {MAX_SYNTH_ROWS}"));
            }
            let span = match span {
                SpanArg::File => Span::File,
                SpanArg::Valid => Span::Valid,
            };
            let csv = synth::to_csv(&synth::generate(rows, seed, span));
            cardiorisk_files::write_atomic(&out, csv.as_bytes())
                .map_err(|e| format!("cannot write {}: {e}", out.display()))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Audit {
            action: AuditCommand::Verify { username, data_dir },
        } => {
            let (services, session) = sign_in(&data_dir_of(data_dir)?, &username)?;
            let report = services
                .verify_audit(&session.token)
                .map_err(|e| e.to_string())?;
            let zone = cardiorisk_core::platform::SystemZone::new();
            let local = |at: &str| {
                cardiorisk_contract::LocalTime::of(at, &zone)
                    .map(|t| t.iso())
                    .unwrap_or_else(|| at.to_string())
            };
            let before = match report.unchained {
                0 => String::new(),
                n => format!("; {n} earlier entries were written before the chain began"),
            };
            let since = report
                .chained_since
                .as_deref()
                .map(|at| format!(", chained since {}", local(at)))
                .unwrap_or_default();
            match report.broken {
                None => {
                    println!(
                        "audit trail verified: {} entries{since}{before}",
                        report.entries
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Some(broken) => {
                    let what = match broken.reason {
                        AuditChainFault::Changed => {
                            "its content is not what was written, or it was moved"
                        }
                        AuditChainFault::Missing => "entries before it are missing",
                        AuditChainFault::Truncated => {
                            "it was recorded as the last entry and the log now ends before it: the newest entries were removed"
                        }
                        AuditChainFault::Unlinked => {
                            "it carries no link although the chain had begun"
                        }
                    };
                    println!(
                        "audit trail BROKEN at entry {} ({}): {what}",
                        broken.id,
                        local(&broken.at)
                    );
                    Ok(ExitCode::from(1))
                }
            }
        }
    }
}

/// Notes in serve's support log each change of state committed while it runs
/// (accounts, clients, plans, settings, the model, a restore; never a patient's
/// data, and not the request lines, which the audit log keeps): entity, id and
/// operation only.
fn log_changes(services: &Services) {
    use cardiorisk_core::changes::Entity;
    use tokio::sync::broadcast::error::RecvError;
    let mut committed = services.subscribe_domain_changes();
    let spawned = std::thread::Builder::new()
        .name("cardiorisk-change-log".into())
        .spawn(move || loop {
            match committed.blocking_recv() {
                Ok(commit) => {
                    let changes = commit.iter().flat_map(|c| &c.changes);
                    for change in changes.filter(|c| c.entity != Entity::AuditEntry) {
                        tracing::info!(
                            entity = change.entity.as_str(),
                            id = %change.entity_id,
                            op = change.op.as_str(),
                            change = %change.id,
                            "change committed"
                        );
                    }
                }
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "the change feed fell behind")
                }
                Err(RecvError::Closed) => break,
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "serve runs without its change feed");
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}
