//! `cardiorisk`: headless training, evaluation and prediction, sharing the app's code.

use cardiorisk_contract::Measurements;
use cardiorisk_model::data::InvalidRows;
use cardiorisk_model::synth::Span;
use cardiorisk_model::TrainConfig;
use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;

mod data;
mod modelling;
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

#[derive(Clone, Copy, ValueEnum)]
enum SpanArg {
    /// The original file's observed ranges.
    File,
    /// The full valid input ranges.
    Valid,
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
            modelling::train(&data, &out, &config, invalid)
        }
        Command::Evaluate { data, model } => modelling::evaluate_file(&data, model.as_deref()),
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
            modelling::predict(&inputs, model.as_deref())
        }
        Command::Batch { data, out, model } => modelling::batch(&data, &out, model.as_deref()),
        Command::Synth {
            rows,
            seed,
            span,
            out,
        } => {
            let span = match span {
                SpanArg::File => Span::File,
                SpanArg::Valid => Span::Valid,
            };
            modelling::synthesize(rows, seed, span, &out)
        }
        Command::Serve {
            port,
            username,
            data_dir,
        } => data::serve(port, username, data_dir),
        Command::Setup {
            username,
            display_name,
            data_dir,
        } => data::setup(&username, &display_name, data_dir),
        Command::SetPlan {
            name,
            per_minute,
            username,
            data_dir,
        } => data::set_plan(&name, per_minute, &username, data_dir),
        Command::Recover { username, data_dir } => data::recover(&username, data_dir),
        Command::Audit {
            action: AuditCommand::Verify { username, data_dir },
        } => data::audit_verify(&username, data_dir),
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
