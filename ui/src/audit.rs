//! Audit log for administrators: filters, paging and CSV export.

use crate::i18n::{error_text, t, tr, when};
use crate::ipc::call;
use crate::session::Auth;
use cardiorisk_contract::{
    command, AuditAction, AuditFilter, AuditPage, AuditQueryArgs, AuditStatus, CommandError,
    ExportAuditArgs,
};
use leptos::prelude::*;
use leptos::task::spawn_local;

const PAGE: u32 = 50;

fn some(text: String) -> Option<String> {
    let text = text.trim().to_string();
    (!text.is_empty()).then_some(text)
}

#[component]
pub fn AuditPage() -> impl IntoView {
    let auth = expect_context::<Auth>();
    let username = RwSignal::new(String::new());
    let action = RwSignal::new(String::new());
    let status = RwSignal::new(String::new());
    let from = RwSignal::new(String::new());
    let to = RwSignal::new(String::new());
    let offset = RwSignal::new(0u32);
    let page = RwSignal::new(None::<Result<AuditPage, CommandError>>);
    let exported = RwSignal::new(None::<Result<Option<String>, CommandError>>);

    let filter = move || AuditFilter {
        username: some(username.get_untracked()),
        action: some(action.get_untracked()),
        status: some(status.get_untracked()),
        // Dates from the pickers are whole days, UTC.
        from: some(from.get_untracked()).map(|d| format!("{d}T00:00:00.000Z")),
        to: some(to.get_untracked()).map(|d| format!("{d}T23:59:59.999Z")),
    };
    let load = move || {
        let args = AuditQueryArgs {
            token: auth.token(),
            filter: filter(),
            limit: PAGE,
            offset: offset.get_untracked(),
        };
        spawn_local(async move {
            let result = call(command::AUDIT_LOG, &args).await;
            if let Err(e) = &result {
                auth.check(e);
            }
            page.set(Some(result));
        });
    };
    load();
    let apply = move || {
        offset.set(0);
        load();
    };
    let export = move |_| {
        let args = ExportAuditArgs {
            token: auth.token(),
            filter: filter(),
        };
        spawn_local(async move {
            let result = call::<_, Option<String>>(command::EXPORT_AUDIT, &args).await;
            if let Err(e) = &result {
                auth.check(e);
            }
            exported.set(Some(result));
        });
    };

    view! {
        <section class="card" aria-labelledby="audit-title">
            <div class="row spread">
                <h1 id="audit-title">{tr("Audit log", "Registro de auditoría")}</h1>
                <button id="audit-export" class="secondary" on:click=export>{tr("Export to CSV…", "Exportar a CSV…")}</button>
            </div>
            {move || exported.get().map(|r| match r {
                Ok(Some(path)) => view! { <p class="ok" id="audit-exported">{format!("{} {path}", t("Saved to", "Guardado en"))}</p> }.into_any(),
                Ok(None) => view! { <p class="meta" id="audit-exported">{tr("Export cancelled.", "Exportación cancelada.")}</p> }.into_any(),
                Err(e) => view! { <p class="alert" id="audit-exported" role="alert">{error_text(&e)}</p> }.into_any(),
            })}
            <form class="filters" on:submit=move |ev| { ev.prevent_default(); apply(); }>
                <div class="field compact">
                    <label for="audit-user"><span class="label">{tr("User", "Usuario")}</span></label>
                    <input id="audit-user" type="text" autocomplete="off"
                        prop:value=move || username.get() on:input=move |ev| username.set(event_target_value(&ev))/>
                </div>
                <div class="field compact">
                    <label for="audit-action"><span class="label">{tr("Action", "Acción")}</span></label>
                    <select id="audit-action" prop:value=move || action.get()
                        on:change=move |ev| { action.set(event_target_value(&ev)); apply(); }>
                        <option value="">{tr("All", "Todas")}</option>
                        {AuditAction::ALL.iter().map(|a| view! { <option value=a.as_str()>{a.as_str()}</option> }).collect_view()}
                    </select>
                </div>
                <div class="field compact">
                    <label for="audit-status"><span class="label">{tr("Status", "Estado")}</span></label>
                    <select id="audit-status" prop:value=move || status.get()
                        on:change=move |ev| { status.set(event_target_value(&ev)); apply(); }>
                        <option value="">{tr("All", "Todos")}</option>
                        {AuditStatus::ALL.iter().map(|a| view! { <option value=a.as_str()>{a.as_str()}</option> }).collect_view()}
                    </select>
                </div>
                <div class="field compact">
                    <label for="audit-from"><span class="label">{tr("From (UTC)", "Desde (UTC)")}</span></label>
                    <input id="audit-from" type="date" prop:value=move || from.get()
                        on:change=move |ev| { from.set(event_target_value(&ev)); apply(); }/>
                </div>
                <div class="field compact">
                    <label for="audit-to"><span class="label">{tr("To (UTC)", "Hasta (UTC)")}</span></label>
                    <input id="audit-to" type="date" prop:value=move || to.get()
                        on:change=move |ev| { to.set(event_target_value(&ev)); apply(); }/>
                </div>
                <button id="audit-apply" type="submit" class="primary">{tr("Apply", "Aplicar")}</button>
            </form>
            {move || match page.get() {
                None => view! { <p class="empty">{tr("Loading…", "Cargando…")}</p> }.into_any(),
                Some(Err(e)) => view! { <p class="alert" role="alert">{error_text(&e)}</p> }.into_any(),
                Some(Ok(p)) if p.entries.is_empty() => view! {
                    <p class="empty" id="audit-empty">{tr("No entries match these filters. Clear a filter to see more.", "Ninguna entrada coincide con estos filtros. Quite alguno para ver más.")}</p>
                }.into_any(),
                Some(Ok(p)) => {
                    let first = offset.get_untracked() + 1;
                    let last = offset.get_untracked() + p.entries.len() as u32;
                    let total = p.total;
                    let at_end = u64::from(last) >= total;
                    view! {
                        <p class="meta" id="audit-count">{move || format!("{} {first}–{last} {} {total}", t("Entries", "Entradas"), t("of", "de"))}</p>
                        <table class="table" id="audit">
                            <thead><tr>
                                <th>{tr("When (UTC)", "Cuándo (UTC)")}</th><th>{tr("User", "Usuario")}</th>
                                <th>{tr("Action", "Acción")}</th><th>{tr("Status", "Estado")}</th>
                                <th>{tr("ms", "ms")}</th><th>{tr("About", "Sobre")}</th><th>{tr("Detail", "Detalle")}</th>
                            </tr></thead>
                            <tbody>
                                {p.entries.into_iter().map(|e| { let action = e.action.clone(); view! {
                                    <tr data-action=action>
                                        <td>{when(&e.at)}</td>
                                        <td>{e.username.unwrap_or_else(|| "—".into())}</td>
                                        <td>{e.action}</td>
                                        <td><span class=format!("status status-{}", e.status)>{e.status.clone()}</span></td>
                                        <td class="num">{format!("{:.1}", e.elapsed_ms)}</td>
                                        <td>{e.subject.unwrap_or_default()}</td>
                                        <td class="detail">{e.detail}</td>
                                    </tr>
                                }}).collect_view()}
                            </tbody>
                        </table>
                        <div class="row pager">
                            <button id="audit-prev" class="secondary" disabled=move || offset.get() == 0
                                on:click=move |_| { offset.set(offset.get_untracked().saturating_sub(PAGE)); load(); }>
                                {tr("← Newer", "← Más recientes")}</button>
                            <button id="audit-next" class="secondary" disabled=at_end
                                on:click=move |_| { offset.set(offset.get_untracked() + PAGE); load(); }>
                                {tr("Older →", "Más antiguas →")}</button>
                        </div>
                    }.into_any()
                }
            }}
        </section>
    }
}
