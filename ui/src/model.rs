//! Settings, Model: the active model's card, retraining with live progress,
//! comparison of the candidate with the active model, activation and roll-back.

use crate::charts::{LineChart, Series, BLUE, GREY, RED};
use crate::i18n::{error_text, t, tr, when};
use crate::ipc::{call, call_passive};
use crate::session::Auth;
use crate::widgets::{ErrorLine, TextInput};
use crate::{ModelInfo, TrainingFeed};
use cardiorisk_contract::{
    command, CommandError, ModelCard, StartTrainingArgs, TokenArgs, TrainRequest, TrainingPhase,
    TrainingStatus, VersionArgs, EMBEDDED_LABEL,
};
use leptos::prelude::*;
use leptos::task::spawn_local;

fn roc_chart(card: &ModelCard) -> String {
    let mut points = vec![(0.0, 0.0)];
    points.extend(card.roc.iter().copied());
    points.push((1.0, 1.0));
    LineChart {
        width: 300,
        height: 260,
        x: 0.0..1.0,
        y: 0.0..1.0,
        x_desc: t("False positive rate", "Tasa de falsos positivos"),
        y_desc: t("True positive rate", "Tasa de verdaderos positivos"),
        x_labels: &[],
        bands: &[],
        series: &[
            Series {
                label: format!("ROC (AUC {:.4})", card.auc),
                color: BLUE,
                points,
            },
            Series {
                label: t("Chance", "Azar").into(),
                color: GREY,
                points: vec![(0.0, 0.0), (1.0, 1.0)],
            },
        ],
        dots: false,
    }
    .svg()
}

fn progress_chart(status: &TrainingStatus, accuracy: bool) -> String {
    let n = status.epochs.len().max(2) as f64;
    let series = if accuracy {
        vec![Series {
            label: t("Validation accuracy", "Exactitud de validación").into(),
            color: BLUE,
            points: status
                .epochs
                .iter()
                .map(|e| (e.epoch as f64, e.validation_accuracy))
                .collect(),
        }]
    } else {
        vec![
            Series {
                label: t("Training loss", "Pérdida de entrenamiento").into(),
                color: BLUE,
                points: status
                    .epochs
                    .iter()
                    .map(|e| (e.epoch as f64, e.train_loss))
                    .collect(),
            },
            Series {
                label: t("Validation loss", "Pérdida de validación").into(),
                color: RED,
                points: status
                    .epochs
                    .iter()
                    .map(|e| (e.epoch as f64, e.validation_loss))
                    .collect(),
            },
        ]
    };
    let top = if accuracy {
        1.0
    } else {
        status
            .epochs
            .iter()
            .map(|e| e.train_loss.max(e.validation_loss))
            .fold(0.1, f64::max)
            * 1.05
    };
    let bottom = if accuracy {
        status
            .epochs
            .iter()
            .map(|e| e.validation_accuracy)
            .fold(1.0, f64::min)
            .min(0.9)
            - 0.02
    } else {
        0.0
    };
    LineChart {
        width: 380,
        height: 220,
        x: 1.0..n.max(status.epochs.last().map(|e| e.epoch as f64).unwrap_or(2.0)),
        y: bottom..top,
        x_desc: t("Epoch", "Época"),
        y_desc: if accuracy {
            t("Accuracy", "Exactitud")
        } else {
            t("Loss", "Pérdida")
        },
        x_labels: &[],
        bands: &[],
        series: &series,
        dots: false,
    }
    .svg()
}

/// The card of one model: provenance, metrics, confusion matrix and ROC curve.
#[component]
fn Card(card: ModelCard) -> impl IntoView {
    let roc = roc_chart(&card);
    let c = card.clone();
    view! {
        <div class="model-card" data-version=card.version.clone()>
            <div class="card-text">
                <p class="meta">{move || format!("{} {} · {} {} {} ({} {}, {} {}) · {} {}…",
                    t("Trained", "Entrenado"), when(&c.created_at),
                    t("on", "con"), c.rows, t("rows", "filas"),
                    c.train_rows, t("to train", "para entrenar"), c.validation_rows, t("to validate", "para validar"),
                    t("data SHA-256", "SHA-256 de los datos"), c.data_sha256.chars().take(12).collect::<String>())}</p>
                <p class="meta">{move || format!("{} {:?} · {} {} ({} {}) · {} {} · {} {} · {} {} · {} {:.2}",
                    t("Layers", "Capas"), c.hidden, t("epochs", "épocas"), c.epochs_run, t("best", "mejor"), c.best_epoch,
                    t("batch", "lote"), c.batch_size, t("learning rate", "tasa de aprendizaje"), c.learning_rate,
                    t("seed", "semilla"), c.seed, t("threshold", "umbral"), c.threshold)}</p>
                <table class="table metrics">
                    <thead><tr><th>{tr("Accuracy", "Exactitud")}</th><th>{tr("Precision", "Precisión")}</th><th>{tr("Recall", "Sensibilidad")}</th>
                        <th>"F1"</th><th>"AUC"</th><th>"Brier"</th></tr></thead>
                    <tbody><tr>
                        <td class="num metric-accuracy">{format!("{:.4}", card.accuracy)}</td>
                        <td class="num">{format!("{:.4}", card.precision)}</td>
                        <td class="num">{format!("{:.4}", card.recall)}</td>
                        <td class="num">{format!("{:.4}", card.f1)}</td>
                        <td class="num">{format!("{:.4}", card.auc)}</td>
                        <td class="num">{format!("{:.4}", card.brier)}</td>
                    </tr></tbody>
                </table>
                <h3>{move || format!("{} ({} {})", t("Confusion matrix", "Matriz de confusión"), card.n, t("validation patients", "pacientes de validación"))}</h3>
                <table class="table confusion">
                    <thead><tr><th></th><th>{tr("Predicted: risk", "Predicho: riesgo")}</th><th>{tr("Predicted: no risk", "Predicho: sin riesgo")}</th></tr></thead>
                    <tbody>
                        <tr><th>{tr("Actual: risk", "Real: riesgo")}</th><td class="num good">{card.true_positive}</td><td class="num bad">{card.false_negative}</td></tr>
                        <tr><th>{tr("Actual: no risk", "Real: sin riesgo")}</th><td class="num bad">{card.false_positive}</td><td class="num good">{card.true_negative}</td></tr>
                    </tbody>
                </table>
            </div>
            <div class="chart roc" inner_html=roc></div>
        </div>
    }
}

fn compare_row(
    label: &'static str,
    es: &'static str,
    a: f64,
    b: f64,
    higher_is_better: bool,
) -> impl IntoView {
    let better = if higher_is_better { b > a } else { b < a };
    let class = if (a - b).abs() < 1e-9 {
        "num"
    } else if better {
        "num good"
    } else {
        "num bad"
    };
    view! {
        <tr><th>{move || t(label, es)}</th><td class="num">{format!("{a:.4}")}</td><td class=class>{format!("{b:.4}")}</td></tr>
    }
}

#[component]
fn Compare(active: ModelCard, candidate: ModelCard) -> impl IntoView {
    view! {
        <table class="table compare" id="compare">
            <thead><tr><th></th>
                <th>{move || format!("{} {}", t("Active:", "Activo:"), active.version)}</th>
                <th>{move || format!("{} {}", t("Candidate:", "Candidato:"), candidate.version)}</th></tr></thead>
            <tbody>
                {compare_row("Accuracy", "Exactitud", active.accuracy, candidate.accuracy, true)}
                {compare_row("Precision", "Precisión", active.precision, candidate.precision, true)}
                {compare_row("Recall", "Sensibilidad", active.recall, candidate.recall, true)}
                {compare_row("F1", "F1", active.f1, candidate.f1, true)}
                {compare_row("AUC", "AUC", active.auc, candidate.auc, true)}
                {compare_row("Brier score", "Puntuación de Brier", active.brier, candidate.brier, false)}
                <tr><th>{tr("Training rows", "Filas de entrenamiento")}</th><td class="num">{active.rows}</td><td class="num">{candidate.rows}</td></tr>
            </tbody>
        </table>
        <p class="meta">{tr("Green: the candidate is better on that measure; red: worse. Each model is measured on its own validation split.",
            "Verde: el candidato es mejor en esa medida; rojo: peor. Cada modelo se mide con su propia partición de validación.")}</p>
    }
}

/// Sets a status read by a call, unless an event has meanwhile brought a newer one.
fn keep_newer(status: RwSignal<Option<TrainingStatus>>, read: TrainingStatus) {
    let newer = status
        .get_untracked()
        .is_some_and(|s| s.phase == read.phase && s.epochs.len() > read.epochs.len());
    if !newer {
        status.set(Some(read));
    }
}

#[component]
pub fn ModelPage() -> impl IntoView {
    let auth = expect_context::<Auth>();
    let model_info = expect_context::<ModelInfo>();
    let models = RwSignal::new(None::<Result<Vec<ModelCard>, CommandError>>);
    // Pushed by the backend after each epoch and when the job ends: never polled.
    let status = expect_context::<TrainingFeed>().0;
    let failure = RwSignal::new(None::<CommandError>);

    let load_models = move || {
        let args = TokenArgs {
            token: auth.token(),
        };
        spawn_local(async move {
            let result = call(command::LIST_MODELS, &args).await;
            if let Err(e) = &result {
                auth.check(e);
            }
            models.set(Some(result));
        });
    };
    load_models();

    // The status as it stands when the page opens; later changes arrive as events.
    {
        let args = TokenArgs {
            token: auth.token(),
        };
        spawn_local(async move {
            match call_passive::<_, TrainingStatus>(command::TRAINING_STATUS, &args).await {
                Ok(now) => keep_newer(status, now),
                Err(e) => auth.check(&e),
            }
        });
    }
    // A retraining that ends while the page is shown adds its candidate to the list.
    Effect::new(move |before: Option<Option<TrainingPhase>>| {
        let phase = status.get().map(|s| s.phase);
        if before.flatten() == Some(TrainingPhase::Running)
            && phase == Some(TrainingPhase::Finished)
        {
            load_models();
        }
        phase
    });

    let hidden = RwSignal::new("32,16".to_string());
    let max_epochs = RwSignal::new("200".to_string());
    let batch_size = RwSignal::new("64".to_string());
    let learning_rate = RwSignal::new("0.01".to_string());
    let seed = RwSignal::new("42".to_string());
    let validation = RwSignal::new("0.2".to_string());
    let patience = RwSignal::new("25".to_string());
    let skip_invalid = RwSignal::new(false);
    let form_errors = RwSignal::new(None::<CommandError>);

    let start = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let mut problems = Vec::new();
        let hidden_layers: Vec<usize> = hidden
            .get_untracked()
            .split(',')
            .filter_map(|p| p.trim().parse().ok())
            .collect();
        if hidden_layers.is_empty() {
            problems.push((
                "hidden".to_string(),
                t(
                    "hidden must list layer sizes, e.g. 32,16",
                    "hidden debe indicar tamaños de capa, p. ej. 32,16",
                )
                .to_string(),
            ));
        }
        macro_rules! number {
            ($signal:expr, $name:literal, $ty:ty) => {
                match $signal.get_untracked().trim().parse::<$ty>() {
                    Ok(v) => v,
                    Err(_) => {
                        problems.push((
                            $name.to_string(),
                            format!("{} {}", $name, t("must be a number", "debe ser un número")),
                        ));
                        Default::default()
                    }
                }
            };
        }
        let request = TrainRequest {
            hidden: hidden_layers,
            max_epochs: number!(max_epochs, "max_epochs", usize),
            batch_size: number!(batch_size, "batch_size", usize),
            learning_rate: number!(learning_rate, "learning_rate", f64),
            seed: number!(seed, "seed", u64),
            validation_fraction: number!(validation, "validation_fraction", f64),
            patience: number!(patience, "patience", usize),
            skip_invalid: skip_invalid.get_untracked(),
        };
        if !problems.is_empty() {
            form_errors.set(Some(CommandError::fields(problems)));
            return;
        }
        form_errors.set(None);
        let args = StartTrainingArgs {
            token: auth.token(),
            request,
        };
        spawn_local(async move {
            match call::<_, Option<TrainingStatus>>(command::START_TRAINING, &args).await {
                Ok(Some(s)) => keep_newer(status, s),
                Ok(None) => {}
                Err(e) => {
                    auth.check(&e);
                    form_errors.set(Some(e));
                }
            }
        });
    };
    let cancel = move |_| {
        let args = TokenArgs {
            token: auth.token(),
        };
        spawn_local(async move {
            let _ = call::<_, ()>(command::CANCEL_TRAINING, &args).await;
        });
    };
    let activate = move |version: String| {
        let args = VersionArgs {
            token: auth.token(),
            version,
        };
        spawn_local(async move {
            match call::<_, ()>(command::ACTIVATE_MODEL, &args).await {
                Ok(()) => {
                    failure.set(None);
                    model_info.reload();
                    let list = TokenArgs {
                        token: auth.token(),
                    };
                    models.set(Some(call(command::LIST_MODELS, &list).await));
                }
                Err(e) => {
                    auth.check(&e);
                    failure.set(Some(e));
                }
            }
        });
    };
    // The registry name of a card (the built-in one is activated by its label).
    let key = |c: &ModelCard| {
        if c.builtin {
            EMBEDDED_LABEL.to_string()
        } else {
            c.version.clone()
        }
    };

    view! {
        <ErrorLine id="model-error" error=failure/>
        {move || match models.get() {
            None => view! { <section class="card"><p class="empty">{tr("Loading…", "Cargando…")}</p></section> }.into_any(),
            Some(Err(e)) => view! { <section class="card"><p class="alert" role="alert">{error_text(&e)}</p></section> }.into_any(),
            Some(Ok(list)) => {
                let active = list.iter().find(|c| c.active).cloned();
                let rows = list.iter().rev().cloned().collect::<Vec<_>>();
                view! {
                    <section class="card" aria-labelledby="active-title" id="active-model">
                        <h1 id="active-title">{move || format!("{} {}", t("Active model:", "Modelo activo:"),
                            active.as_ref().map(|c| c.version.clone()).unwrap_or_default())}</h1>
                        {list.iter().find(|c| c.active).cloned().map(|c| view! { <Card card=c/> })}
                    </section>
                    <section class="card" aria-labelledby="versions-title">
                        <h2 id="versions-title">{tr("All versions", "Todas las versiones")}</h2>
                        <p class="meta">{tr("Activating an earlier version rolls back to it; predictions from then on use it. Nothing is deleted.",
                            "Activar una versión anterior vuelve a ella; las predicciones desde entonces la usan. No se borra nada.")}</p>
                        <table class="table" id="versions">
                            <thead><tr><th>{tr("Version", "Versión")}</th><th>{tr("Trained", "Entrenado")}</th>
                                <th>{tr("Rows", "Filas")}</th><th>{tr("Accuracy", "Exactitud")}</th><th>"AUC"</th><th></th></tr></thead>
                            <tbody>
                                {rows.into_iter().map(|c| {
                                    let name = key(&c);
                                    let is_active = c.active;
                                    view! {
                                        <tr data-version=name.clone() class:active-row=is_active>
                                            <td>{c.version.clone()}</td><td>{when(&c.created_at)}</td>
                                            <td class="num">{c.rows}</td>
                                            <td class="num">{format!("{:.4}", c.accuracy)}</td><td class="num">{format!("{:.4}", c.auc)}</td>
                                            <td>{if is_active {
                                                view! { <span class="pill band-low">{tr("Active", "Activo")}</span> }.into_any()
                                            } else {
                                                let name = name.clone();
                                                view! { <button class="secondary small model-activate" on:click=move |_| activate(name.clone())>{tr("Activate", "Activar")}</button> }.into_any()
                                            }}</td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    </section>
                }.into_any()
            }
        }}
        <section class="card" aria-labelledby="train-title">
            <h2 id="train-title">{tr("Retrain", "Reentrenar")}</h2>
            <p class="meta">{tr(
                "Train a new model on a CSV file with the columns colesterol, presion, glucosa, edad, sobrepeso, tabaquismo and riesgo_cardiaco (0 or 1). The result is kept as a candidate; it scores patients only once you activate it.",
                "Entrene un modelo nuevo con un archivo CSV con las columnas colesterol, presion, glucosa, edad, sobrepeso, tabaquismo y riesgo_cardiaco (0 o 1). El resultado queda como candidato; solo evalúa pacientes cuando lo active.")}</p>
            <form id="train-form" on:submit=start novalidate>
                <div class="fields three">
                    <TextInput id="train-hidden" label=("Hidden layers (units, comma-separated)", "Capas ocultas (unidades, separadas por comas)") value=hidden field="hidden" errors=form_errors/>
                    <TextInput id="train-epochs" label=("Maximum epochs", "Épocas máximas") value=max_epochs field="max_epochs" errors=form_errors/>
                    <TextInput id="train-batch" label=("Batch size", "Tamaño de lote") value=batch_size field="batch_size" errors=form_errors/>
                    <TextInput id="train-lr" label=("Learning rate", "Tasa de aprendizaje") value=learning_rate field="learning_rate" errors=form_errors/>
                    <TextInput id="train-seed" label=("Random seed", "Semilla aleatoria") value=seed field="seed" errors=form_errors/>
                    <TextInput id="train-validation" label=("Validation fraction", "Fracción de validación") value=validation field="validation_fraction" errors=form_errors/>
                    <TextInput id="train-patience" label=("Early-stopping patience (epochs)", "Paciencia de parada temprana (épocas)") value=patience field="patience" errors=form_errors/>
                    <label class="toggle" for="train-skip">
                        <input type="checkbox" id="train-skip" prop:checked=move || skip_invalid.get()
                            on:change=move |ev| skip_invalid.set(event_target_checked(&ev))/>
                        {tr("Leave out invalid rows (otherwise the file is refused)", "Omitir filas no válidas (si no, se rechaza el archivo)")}
                    </label>
                </div>
                {move || form_errors.get().filter(|e| e.fields.is_empty()).map(|e| view! { <p class="alert" id="train-error" role="alert">{error_text(&e)}</p> })}
                <button id="train-start" type="submit" class="primary"
                    disabled=move || status.get().map(|s| s.phase == TrainingPhase::Running).unwrap_or(false)>
                    {tr("Choose CSV file and train…", "Elegir archivo CSV y entrenar…")}</button>
            </form>
            {move || status.get().filter(|s| s.phase != TrainingPhase::Idle).map(|s| {
                let done = s.epochs.last().map(|e| e.epoch).unwrap_or(0);
                let pct = if s.max_epochs > 0 { done as f64 / s.max_epochs as f64 * 100.0 } else { 0.0 };
                let phase = s.phase;
                let loss = progress_chart(&s, false);
                let acc = progress_chart(&s, true);
                let source = s.source.clone().unwrap_or_default();
                let rows = s.rows;
                let skipped = s.skipped.unwrap_or(0);
                let error = s.error.clone();
                view! {
                    <div class="training" id="training" data-phase=format!("{phase:?}").to_lowercase()>
                        <p id="training-state">{move || match phase {
                            TrainingPhase::Running => format!("{} {source} · {} {done} / {}", t("Training on", "Entrenando con"), t("epoch", "época"), s.max_epochs),
                            TrainingPhase::Finished => format!("{} {source} {} {done} {} {} {}", t("Finished training on", "Entrenamiento terminado con"),
                                t("after", "tras"), t("of", "de"), s.max_epochs, t("epochs; the best one is kept.", "épocas; se guarda la mejor.")),
                            TrainingPhase::Cancelled => t("Training cancelled; no model was kept.", "Entrenamiento cancelado; no se ha guardado ningún modelo.").to_string(),
                            TrainingPhase::Failed => format!("{} {}", t("Training failed:", "El entrenamiento ha fallado:"), error.clone().unwrap_or_default()),
                            TrainingPhase::Idle => String::new(),
                        }}</p>
                        {rows.map(|r| view! { <p class="meta">{move || format!("{r} {} {skipped} {}", t("rows read;", "filas leídas;"), t("left out as invalid", "omitidas por no válidas"))}</p> })}
                        <progress id="training-progress" max="100" value=format!("{pct:.0}")>{format!("{pct:.0}%")}</progress>
                        {(phase == TrainingPhase::Running).then(|| view! {
                            <button id="train-cancel" class="secondary" on:click=cancel>{tr("Cancel", "Cancelar")}</button>
                        })}
                        <div class="chart-grid two">
                            <div class="chart small" id="loss-chart" inner_html=loss></div>
                            <div class="chart small" id="accuracy-chart" inner_html=acc></div>
                        </div>
                    </div>
                }
            })}
            {move || {
                let s = status.get()?;
                let candidate = s.candidate.clone()?;
                let list = models.get()?.ok()?;
                let cand = list.iter().find(|c| c.version == candidate)?.clone();
                let active = list.iter().find(|c| c.active)?.clone();
                let is_active = cand.active;
                Some(view! {
                    <h3>{tr("Candidate compared with the active model", "Candidato comparado con el modelo activo")}</h3>
                    <Compare active=active candidate=cand/>
                    {(!is_active).then(|| {
                        let c = candidate.clone();
                        view! { <button id="candidate-activate" class="primary" on:click=move |_| activate(c.clone())>{tr("Activate the candidate", "Activar el candidato")}</button> }
                    })}
                })
            }}
        </section>
    }
}
