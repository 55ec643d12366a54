//! Audit log for administrators: filters, paging and CSV export.

use crate::i18n::{error_text, number, t, tf, tr, when, LocalZone};
use crate::session::Auth;
use cardiorisk_contract::{
    command, AuditAction, AuditChainFault, AuditChainReport, AuditFilter, AuditQueryArgs,
    AuditStatus, ExportAuditArgs, TokenArgs,
};
use cardiorisk_contract::{start_of_local_day, start_of_next_local_day};
use leptos::prelude::*;

const PAGE: u32 = 50;

fn some(text: String) -> Option<String> {
    let text = text.trim().to_string();
    (!text.is_empty()).then_some(text)
}

/// `patient`: a record number to filter by at first (from a patient's page).
#[component]
pub fn AuditPage(patient: Option<String>) -> impl IntoView {
    let auth = expect_context::<Auth>();
    let patient = RwSignal::new(patient.unwrap_or_default());
    let username = RwSignal::new(String::new());
    let action = RwSignal::new(String::new());
    let status = RwSignal::new(String::new());
    let from = RwSignal::new(String::new());
    let to = RwSignal::new(String::new());
    let offset = RwSignal::new(0u32);

    let filter = move || AuditFilter {
        patient: some(patient.get_untracked()),
        username: some(username.get_untracked()),
        action: some(action.get_untracked()),
        status: some(status.get_untracked()),
        // Dates from the pickers are whole local days: from the start of the first to
        // the start of the day after the last.
        from: some(from.get_untracked()).and_then(|d| start_of_local_day(&d, &LocalZone)),
        to: some(to.get_untracked()).and_then(|d| start_of_next_local_day(&d, &LocalZone)),
    };
    let page = LocalResource::new(move || {
        let args = AuditQueryArgs {
            token: auth.token(),
            filter: filter(),
            limit: PAGE,
            offset: offset.get_untracked(),
        };
        auth.call::<command::AuditLog>(args)
    });
    let load = move || page.refetch();
    // Live: each event the backend commits reloads the first page, where it shows.
    let feed = expect_context::<crate::AuditFeed>().0;
    Effect::new(move |seen: Option<u64>| {
        let now = feed.get();
        if seen.is_some_and(|n| n != now) && offset.get_untracked() == 0 {
            page.refetch();
        }
        now
    });
    let apply = move || {
        offset.set(0);
        load();
    };
    // The hash chain, checked from the first entry to the last when the page opens.
    let chain = LocalResource::new(move || {
        auth.call::<command::VerifyAudit>(TokenArgs {
            token: auth.token(),
        })
    });
    let export_action = Action::new_local(move |args: &ExportAuditArgs| {
        auth.call::<command::ExportAudit>(args.clone())
    });
    let exported = export_action.value();
    let export = move |_| {
        export_action.dispatch(ExportAuditArgs {
            token: auth.token(),
            filter: filter(),
        });
    };

    view! {
        <section class="card" aria-labelledby="audit-title">
            <div class="row spread">
                <h1 id="audit-title">{tr("audit-log")}</h1>
                <button id="audit-export" class="secondary" on:click=export>{tr("export-to-csv")}</button>
            </div>
            <div class="row chain" id="audit-chain" aria-live="polite">
                {move || match chain.get() {
                    None => view! { <p class="meta">{tr("audit-chain-checking")}</p> }.into_any(),
                    Some(Err(e)) => view! { <p class="alert" role="alert">{error_text(&e)}</p> }.into_any(),
                    Some(Ok(report)) => chain_view(report),
                }}
                <button id="audit-chain-check" class="secondary" on:click=move |_| chain.refetch()>
                    {tr("audit-chain-check-again")}</button>
            </div>
            {move || exported.get().map(|r| match r {
                Ok(Some(path)) => view! { <p class="ok" id="audit-exported">{format!("{} {path}", t("saved-to"))}</p> }.into_any(),
                Ok(None) => view! { <p class="meta" id="audit-exported">{tr("export-cancelled")}</p> }.into_any(),
                Err(e) => view! { <p class="alert" id="audit-exported" role="alert">{error_text(&e)}</p> }.into_any(),
            })}
            <form class="filters" on:submit=move |ev| { ev.prevent_default(); apply(); }>
                <div class="field compact">
                    <label for="audit-patient"><span class="label">{tr("audit-patient")}</span></label>
                    <input id="audit-patient" type="text" autocomplete="off"
                        prop:value=move || patient.get() on:input=move |ev| patient.set(event_target_value(&ev))/>
                </div>
                <div class="field compact">
                    <label for="audit-user"><span class="label">{tr("user")}</span></label>
                    <input id="audit-user" type="text" autocomplete="off"
                        prop:value=move || username.get() on:input=move |ev| username.set(event_target_value(&ev))/>
                </div>
                <div class="field compact">
                    <label for="audit-action"><span class="label">{tr("action")}</span></label>
                    <select id="audit-action" prop:value=move || action.get()
                        on:change=move |ev| { action.set(event_target_value(&ev)); apply(); }>
                        <option value="">{tr("all")}</option>
                        {AuditAction::ALL.iter().map(|a| view! { <option value=a.as_str()>{a.as_str()}</option> }).collect_view()}
                    </select>
                </div>
                <div class="field compact">
                    <label for="audit-status"><span class="label">{tr("status")}</span></label>
                    <select id="audit-status" prop:value=move || status.get()
                        on:change=move |ev| { status.set(event_target_value(&ev)); apply(); }>
                        <option value="">{tr("all-2")}</option>
                        {AuditStatus::ALL.iter().map(|a| view! { <option value=a.as_str()>{a.as_str()}</option> }).collect_view()}
                    </select>
                </div>
                <div class="field compact">
                    <label for="audit-from"><span class="label">{tr("from-date")}</span></label>
                    <input id="audit-from" type="date" prop:value=move || from.get()
                        on:change=move |ev| { from.set(event_target_value(&ev)); apply(); }/>
                </div>
                <div class="field compact">
                    <label for="audit-to"><span class="label">{tr("to-date")}</span></label>
                    <input id="audit-to" type="date" prop:value=move || to.get()
                        on:change=move |ev| { to.set(event_target_value(&ev)); apply(); }/>
                </div>
                <button id="audit-apply" type="submit" class="primary">{tr("apply")}</button>
            </form>
            {move || match page.get() {
                None => view! { <p class="empty">{tr("loading")}</p> }.into_any(),
                Some(Err(e)) => view! { <p class="alert" role="alert">{error_text(&e)}</p> }.into_any(),
                Some(Ok(p)) if p.entries.is_empty() => view! {
                    <p class="empty" id="audit-empty">{tr("no-entries-match-these-filters-clear")}</p>
                }.into_any(),
                Some(Ok(p)) => {
                    let first = offset.get_untracked() + 1;
                    let last = offset.get_untracked() + p.entries.len() as u32;
                    let total = p.total;
                    let at_end = u64::from(last) >= total;
                    view! {
                        <p class="meta" id="audit-count">{move || tf("audit-entries-shown", &[("first", &first.to_string()), ("last", &last.to_string()), ("total", &total.to_string())])}</p>
                        <table class="table" id="audit">
                            <thead><tr>
                                <th>{tr("when")}</th><th>{tr("user")}</th>
                                <th>{tr("action")}</th><th>{tr("status")}</th>
                                <th>{tr("ms")}</th><th>{tr("about")}</th><th>{tr("detail")}</th>
                            </tr></thead>
                            <tbody>
                                {p.entries.into_iter().map(|e| { let action = e.action.clone(); view! {
                                    <tr data-action=action>
                                        <td>{when(&e.at)}</td>
                                        <td>{e.username.unwrap_or_else(|| "—".into())}</td>
                                        <td>{e.action}</td>
                                        <td><span class=format!("status status-{}", e.status)>{e.status.clone()}</span></td>
                                        <td class="num">{number(format!("{:.1}", e.elapsed_ms))}</td>
                                        <td>{e.subject.unwrap_or_default()}</td>
                                        <td class="detail">{e.detail}</td>
                                    </tr>
                                }}).collect_view()}
                            </tbody>
                        </table>
                        <div class="row pager">
                            <button id="audit-prev" class="secondary" disabled=move || offset.get() == 0
                                on:click=move |_| { offset.set(offset.get_untracked().saturating_sub(PAGE)); load(); }>
                                {tr("newer")}</button>
                            <button id="audit-next" class="secondary" disabled=at_end
                                on:click=move |_| { offset.set(offset.get_untracked() + PAGE); load(); }>
                                {tr("older")}</button>
                        </div>
                    }.into_any()
                }
            }}
        </section>
    }
}

/// What the chain check found, in a sentence or two.
fn chain_view(report: AuditChainReport) -> AnyView {
    match report.broken {
        Some(broken) => {
            let reason = t(match broken.reason {
                AuditChainFault::Changed => "audit-chain-changed",
                AuditChainFault::Missing => "audit-chain-missing",
                AuditChainFault::Unlinked => "audit-chain-unlinked",
                AuditChainFault::Truncated => "audit-chain-truncated",
            });
            let said = tf(
                "audit-chain-broken",
                &[
                    ("id", &broken.id.to_string()),
                    ("at", &when(&broken.at)),
                    ("reason", reason),
                ],
            );
            view! { <p class="alert" role="alert" id="audit-chain-broken">{said}</p> }.into_any()
        }
        None => {
            let mut said = tf(
                "audit-chain-verified",
                &[("entries", &report.entries.to_string())],
            );
            if let Some(since) = &report.chained_since {
                said = format!(
                    "{said} {}",
                    tf("audit-chain-since", &[("since", &when(since))])
                );
            }
            if report.unchained > 0 {
                said = format!(
                    "{said} {}",
                    tf(
                        "audit-chain-unchained",
                        &[("count", &report.unchained.to_string())]
                    )
                );
            }
            view! { <p class="ok" id="audit-chain-verified">{said}</p> }.into_any()
        }
    }
}
