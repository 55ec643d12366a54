//! Settings, Model: the active model's card, retraining with live progress,
//! comparison of the candidate with the active model, activation and roll-back.

use crate::charts::{LineChart, Series, BLUE, GREY, RED};
use crate::i18n::{error_text, number, t, tf, tr, when};
use crate::ipc::call_passive;
use crate::session::Auth;
use crate::widgets::{ErrorLine, TextInput};
use crate::{ModelInfo, TrainingFeed};
use cardiorisk_contract::{
    command, CommandError, FieldError, ModelCard, StartTrainingArgs, TokenArgs, TrainConfig,
    TrainRequest, TrainingPhase, TrainingStatus, VersionArgs, EMBEDDED_LABEL,
};
use leptos::prelude::*;
use leptos::task::spawn_local;
use plotters::chart::SeriesLabelPosition;

mod retrain;

use retrain::Retrain;

fn roc_chart(card: &ModelCard) -> String {
    let mut points = vec![(0.0, 0.0)];
    points.extend(
        card.metrics
            .roc
            .iter()
            .map(|p| (p.false_positive_rate, p.true_positive_rate)),
    );
    points.push((1.0, 1.0));
    LineChart {
        width: 300,
        height: 260,
        x: 0.0..1.0,
        y: 0.0..1.0,
        x_desc: t("false-positive-rate"),
        y_desc: t("true-positive-rate"),
        x_labels: &[],
        bands: &[],
        series: &[
            Series {
                label: format!("ROC (AUC {:.4})", card.metrics.auc),
                color: BLUE,
                points,
            },
            Series {
                label: t("chance").into(),
                color: GREY,
                points: vec![(0.0, 0.0), (1.0, 1.0)],
            },
        ],
        dots: false,
        // The curve hugs the top left; the lower right stays empty.
        legend_at: SeriesLabelPosition::LowerRight,
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
                <p class="meta">{move || tf("model-provenance", &[
                    ("when", &when(&c.created_at)),
                    ("rows", &c.training.rows.to_string()),
                    ("train", &c.training.train_rows.to_string()),
                    ("validate", &c.training.validation_rows.to_string()),
                    ("sha", &c.training.data_sha256.chars().take(12).collect::<String>()),
                ])}</p>
                <p class="meta">{move || {
                    let h = &c.hyperparameters;
                    tf("model-settings", &[
                        ("layers", &format!("{:?}", h.hidden)),
                        ("epochs", &c.training.epochs_run.to_string()),
                        ("best", &c.training.best_epoch.to_string()),
                        ("batch", &h.batch_size.to_string()),
                        ("rate", &h.learning_rate.to_string()),
                        ("seed", &h.seed.to_string()),
                        ("threshold", &number(format!("{:.2}", c.threshold))),
                    ])
                }}</p>
                <table class="table metrics">
                    <thead><tr><th>{tr("accuracy")}</th><th>{tr("precision")}</th><th>{tr("recall")}</th>
                        <th>"F1"</th><th>"AUC"</th><th>"Brier"</th></tr></thead>
                    <tbody><tr>
                        <td class="num metric-accuracy">{number(format!("{:.4}", card.metrics.accuracy))}</td>
                        <td class="num">{number(format!("{:.4}", card.metrics.precision))}</td>
                        <td class="num">{number(format!("{:.4}", card.metrics.recall))}</td>
                        <td class="num">{number(format!("{:.4}", card.metrics.f1))}</td>
                        <td class="num">{number(format!("{:.4}", card.metrics.auc))}</td>
                        <td class="num">{number(format!("{:.4}", card.metrics.brier))}</td>
                    </tr></tbody>
                </table>
                <h3>{move || format!("{} ({} {})", t("confusion-matrix"), card.metrics.n, t("validation-patients"))}</h3>
                <table class="table confusion">
                    <thead><tr><th></th><th>{tr("predicted-risk")}</th><th>{tr("predicted-no-risk")}</th></tr></thead>
                    <tbody>
                        <tr><th>{tr("actual-risk")}</th><td class="num good">{card.metrics.confusion.true_positive}</td><td class="num bad">{card.metrics.confusion.false_negative}</td></tr>
                        <tr><th>{tr("actual-no-risk")}</th><td class="num bad">{card.metrics.confusion.false_positive}</td><td class="num good">{card.metrics.confusion.true_negative}</td></tr>
                    </tbody>
                </table>
            </div>
            <div class="chart roc" inner_html=roc></div>
        </div>
    }
}

/// Sets a status read by a call, unless an event has meanwhile brought a newer one
/// (a short retraining can finish before the reply that started it arrives).
fn keep_newer(status: RwSignal<Option<TrainingStatus>>, read: TrainingStatus) {
    let shown_is_newer = status
        .get_untracked()
        .is_some_and(|shown| shown.is_newer_than(&read));
    if !shown_is_newer {
        status.set(Some(read));
    }
}

#[component]
pub fn ModelPage() -> impl IntoView {
    let auth = expect_context::<Auth>();
    let model_info = expect_context::<ModelInfo>();
    // Pushed by the backend after each epoch and when the job ends: never polled.
    let status = expect_context::<TrainingFeed>().0;
    let failure = RwSignal::new(None::<CommandError>);

    let models = LocalResource::new(move || {
        let args = TokenArgs {
            token: auth.token(),
        };
        auth.call::<command::ListModels>(args)
    });
    let load_models = move || models.refetch();

    // The status as it stands when the page opens; later changes arrive as events.
    {
        let args = TokenArgs {
            token: auth.token(),
        };
        spawn_local(async move {
            match call_passive::<command::TrainingStatus>(&args).await {
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

    let activate = move |version: String| {
        let args = VersionArgs {
            token: auth.token(),
            version,
        };
        spawn_local(async move {
            match auth.call::<command::ActivateModel>(args).await {
                Ok(()) => {
                    failure.set(None);
                    model_info.reload();
                    load_models();
                }
                Err(e) => {
                    failure.set(Some(e));
                }
            }
        });
    };
    view! {
        <ErrorLine id="model-error" error=failure/>
        <Versions models=models activate=activate/>
        <Retrain models=models activate=activate/>
    }
}

type Models = LocalResource<Result<Vec<ModelCard>, CommandError>>;

/// The active model's card and every stored version, each one click from activation.
#[component]
fn Versions(
    models: Models,
    activate: impl Fn(String) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    // The registry name of a card (the built-in one is activated by its label).
    let key = |c: &ModelCard| {
        if c.builtin {
            EMBEDDED_LABEL.to_string()
        } else {
            c.version.clone()
        }
    };

    view! {
        {move || match models.get() {
            None => view! { <section class="card"><p class="empty">{tr("loading")}</p></section> }.into_any(),
            Some(Err(e)) => view! { <section class="card"><p class="alert" role="alert">{error_text(&e)}</p></section> }.into_any(),
            Some(Ok(list)) => {
                let active = list.iter().find(|c| c.active).cloned();
                let rows = list.iter().rev().cloned().collect::<Vec<_>>();
                view! {
                    <section class="card" aria-labelledby="active-title" id="active-model">
                        <h1 id="active-title">{move || format!("{} {}", t("active-model"),
                            active.as_ref().map(|c| c.version.clone()).unwrap_or_default())}</h1>
                        {list.iter().find(|c| c.active).cloned().map(|c| view! { <Card card=c/> })}
                    </section>
                    <section class="card" aria-labelledby="versions-title">
                        <h2 id="versions-title">{tr("all-versions")}</h2>
                        <p class="meta">{tr("activating-an-earlier-version-rolls-back")}</p>
                        <table class="table" id="versions">
                            <thead><tr><th>{tr("version")}</th><th>{tr("trained")}</th>
                                <th>{tr("rows-2")}</th><th>{tr("accuracy")}</th><th>"AUC"</th><th></th></tr></thead>
                            <tbody>
                                {rows.into_iter().map(|c| {
                                    let name = key(&c);
                                    let is_active = c.active;
                                    view! {
                                        <tr data-version=name.clone() class:active-row=is_active>
                                            <td>{c.version.clone()}</td><td>{when(&c.created_at)}</td>
                                            <td class="num">{c.training.rows}</td>
                                            <td class="num">{number(format!("{:.4}", c.metrics.accuracy))}</td><td class="num">{number(format!("{:.4}", c.metrics.auc))}</td>
                                            <td>{if is_active {
                                                view! { <span class="pill band-low">{tr("active-3")}</span> }.into_any()
                                            } else {
                                                let name = name.clone();
                                                view! { <button class="secondary small model-activate" on:click=move |_| activate(name.clone())>{tr("activate")}</button> }.into_any()
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
    }
}
