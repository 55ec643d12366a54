//! Retraining from the Model page: the hyperparameters, progress as it is pushed,
//! and the candidate compared with the active model.

use super::*;

fn progress_chart(status: &TrainingStatus, accuracy: bool) -> String {
    let n = status.epochs.len().max(2) as f64;
    let series = if accuracy {
        vec![Series {
            label: t("validation-accuracy").into(),
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
                label: t("training-loss").into(),
                color: BLUE,
                points: status
                    .epochs
                    .iter()
                    .map(|e| (e.epoch as f64, e.train_loss))
                    .collect(),
            },
            Series {
                label: t("validation-loss").into(),
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
        x_desc: t("epoch"),
        y_desc: if accuracy { t("accuracy") } else { t("loss") },
        x_labels: &[],
        bands: &[],
        series: &series,
        dots: false,
        // Losses fall from the top left; the upper right stays empty.
        legend_at: SeriesLabelPosition::UpperRight,
    }
    .svg()
}

fn compare_row(label: &'static str, a: f64, b: f64, higher_is_better: bool) -> impl IntoView {
    let better = if higher_is_better { b > a } else { b < a };
    let class = if (a - b).abs() < 1e-9 {
        "num"
    } else if better {
        "num good"
    } else {
        "num bad"
    };
    view! {
        <tr><th>{move || t(label)}</th><td class="num">{number(format!("{a:.4}"))}</td><td class=class>{number(format!("{b:.4}"))}</td></tr>
    }
}

#[component]
fn Compare(active: ModelCard, candidate: ModelCard) -> impl IntoView {
    view! {
        <table class="table compare" id="compare">
            <thead><tr><th></th>
                <th>{move || format!("{} {}", t("active-2"), active.version)}</th>
                <th>{move || format!("{} {}", t("candidate"), candidate.version)}</th></tr></thead>
            <tbody>
                {compare_row("accuracy", active.metrics.accuracy, candidate.metrics.accuracy, true)}
                {compare_row("precision", active.metrics.precision, candidate.metrics.precision, true)}
                {compare_row("recall", active.metrics.recall, candidate.metrics.recall, true)}
                {compare_row("f1", active.metrics.f1, candidate.metrics.f1, true)}
                {compare_row("auc", active.metrics.auc, candidate.metrics.auc, true)}
                {compare_row("brier-score", active.metrics.brier, candidate.metrics.brier, false)}
                <tr><th>{tr("training-rows")}</th><td class="num">{active.training.rows}</td><td class="num">{candidate.training.rows}</td></tr>
            </tbody>
        </table>
        <p class="meta">{tr("green-the-candidate-is-better-on")}</p>
    }
}

/// Retraining: the hyperparameters, progress as it is pushed, and the candidate
/// compared with the active model.
#[component]
pub(super) fn Retrain(
    models: Models,
    activate: impl Fn(String) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let auth = expect_context::<Auth>();
    let status = expect_context::<TrainingFeed>().0;
    let defaults = TrainConfig::default();
    let hidden = RwSignal::new(
        defaults
            .hidden
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(","),
    );
    let max_epochs = RwSignal::new(defaults.max_epochs.to_string());
    let batch_size = RwSignal::new(defaults.batch_size.to_string());
    let learning_rate = RwSignal::new(defaults.learning_rate.to_string());
    let seed = RwSignal::new(defaults.seed.to_string());
    let validation = RwSignal::new(defaults.validation_fraction.to_string());
    let patience = RwSignal::new(defaults.patience.to_string());
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
            problems.push(FieldError::rule("hidden", &[]));
        }
        macro_rules! number {
            ($signal:expr, $name:literal, $ty:ty) => {
                match $signal.get_untracked().trim().parse::<$ty>() {
                    Ok(v) => v,
                    Err(_) => {
                        problems.push(FieldError::rule($name, &[]));
                        Default::default()
                    }
                }
            };
        }
        let config = TrainConfig {
            hidden: hidden_layers,
            max_epochs: number!(max_epochs, "max_epochs", usize),
            batch_size: number!(batch_size, "batch_size", usize),
            learning_rate: number!(learning_rate, "learning_rate", f64),
            seed: number!(seed, "seed", u64),
            validation_fraction: number!(validation, "validation_fraction", f64),
            patience: number!(patience, "patience", usize),
        };
        if problems.is_empty() {
            problems.extend(config.check().err());
        }
        let request = TrainRequest {
            config,
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
            match auth.call::<command::StartTraining>(args).await {
                Ok(Some(s)) => keep_newer(status, s),
                Ok(None) => {}
                Err(e) => {
                    form_errors.set(Some(e));
                }
            }
        });
    };
    view! {
        <section class="card" aria-labelledby="train-title">
            <h2 id="train-title">{tr("retrain")}</h2>
            <p class="meta">{tr("train-a-new-model-on-a")}</p>
            <form id="train-form" on:submit=start novalidate>
                <div class="fields three">
                    <TextInput id="train-hidden" label="hidden-layers-units-comma-separated" value=hidden field="hidden" errors=form_errors/>
                    <TextInput id="train-epochs" label="maximum-epochs" value=max_epochs field="max_epochs" errors=form_errors/>
                    <TextInput id="train-batch" label="batch-size" value=batch_size field="batch_size" errors=form_errors/>
                    <TextInput id="train-lr" label="learning-rate-2" value=learning_rate field="learning_rate" errors=form_errors/>
                    <TextInput id="train-seed" label="random-seed" value=seed field="seed" errors=form_errors/>
                    <TextInput id="train-validation" label="validation-fraction" value=validation field="validation_fraction" errors=form_errors/>
                    <TextInput id="train-patience" label="early-stopping-patience-epochs" value=patience field="patience" errors=form_errors/>
                    <label class="toggle" for="train-skip">
                        <input type="checkbox" id="train-skip" prop:checked=move || skip_invalid.get()
                            on:change=move |ev| skip_invalid.set(event_target_checked(&ev))/>
                        {tr("leave-out-invalid-rows-otherwise-the")}
                    </label>
                </div>
                {move || form_errors.get().filter(|e| e.fields.is_empty()).map(|e| view! { <p class="alert" id="train-error" role="alert">{error_text(&e)}</p> })}
                <button id="train-start" type="submit" class="primary"
                    disabled=move || status.get().map(|s| s.phase == TrainingPhase::Running).unwrap_or(false)>
                    {tr("choose-csv-file-and-train")}</button>
            </form>
            <TrainingProgress/>
            <Candidate models=models activate=activate/>
        </section>
    }
}

/// The running or last retraining: its state, progress bar and curves.
#[component]
fn TrainingProgress() -> impl IntoView {
    let auth = expect_context::<Auth>();
    let status = expect_context::<TrainingFeed>().0;
    let cancel = move |_| {
        let args = TokenArgs {
            token: auth.token(),
        };
        spawn_local(async move {
            let _ = auth.call::<command::CancelTraining>(args).await;
        });
    };

    view! {
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
                        TrainingPhase::Running => tf("training-running", &[
                            ("source", &source), ("done", &done.to_string()), ("max", &s.max_epochs.to_string())]),
                        TrainingPhase::Finished => tf("training-finished", &[
                            ("source", &source), ("done", &done.to_string()), ("max", &s.max_epochs.to_string())]),
                        TrainingPhase::Cancelled => t("training-cancelled-no-model-was-kept").to_string(),
                        TrainingPhase::Failed => format!("{} {}", t("training-failed"), error.clone().unwrap_or_default()),
                        TrainingPhase::Idle => String::new(),
                    }}</p>
                    {rows.map(|r| view! { <p class="meta">{move || tf("training-rows-read", &[("rows", &r.to_string()), ("skipped", &skipped.to_string())])}</p> })}
                    <progress id="training-progress" max="100" value=format!("{pct:.0}")>{format!("{pct:.0}%")}</progress>
                    {(phase == TrainingPhase::Running).then(|| view! {
                        <button id="train-cancel" class="secondary" on:click=cancel>{tr("cancel")}</button>
                    })}
                    <div class="chart-grid two">
                        <div class="chart small" id="loss-chart" inner_html=loss></div>
                        <div class="chart small" id="accuracy-chart" inner_html=acc></div>
                    </div>
                </div>
            }
        })}
    }
}

/// The candidate a retraining left, beside the active model, one click from activation.
#[component]
fn Candidate(
    models: Models,
    activate: impl Fn(String) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let status = expect_context::<TrainingFeed>().0;
    move || {
        let s = status.get()?;
        let candidate = s.candidate.clone()?;
        let list = models.get()?.ok()?;
        let cand = list.iter().find(|c| c.version == candidate)?.clone();
        let active = list.iter().find(|c| c.active)?.clone();
        let is_active = cand.active;
        Some(view! {
            <h3>{tr("candidate-compared-with-the-active-model")}</h3>
            <Compare active=active candidate=cand/>
            {(!is_active).then(|| {
                let c = candidate.clone();
                view! { <button id="candidate-activate" class="primary" on:click=move |_| activate(c.clone())>{tr("activate-the-candidate")}</button> }
            })}
        })
    }
}
