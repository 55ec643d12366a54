//! Calls into the backend through Tauri's global `invoke`, with the shared contract types.

use cardiorisk_contract::{Command, CommandError};
use serde::{de::DeserializeOwned, Serialize};
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = ["window", "__TAURI__", "core"], js_name = invoke, catch)]
    async fn tauri_invoke(cmd: &str, args: JsValue) -> Result<JsValue, JsValue>;

    #[wasm_bindgen(js_namespace = ["window", "__TAURI__", "event"], js_name = listen, catch)]
    async fn tauri_listen(event: &str, handler: &JsValue) -> Result<JsValue, JsValue>;

    #[wasm_bindgen(js_namespace = console, js_name = error)]
    fn console_error(text: &str);
}

/// Calls `on_payload` with the payload of every `event` the backend emits, for the
/// rest of the app's life (one listener per event, registered at start).
pub fn listen<T: DeserializeOwned + 'static>(
    event: &'static str,
    on_payload: impl Fn(T) + 'static,
) {
    let handler = Closure::<dyn Fn(JsValue)>::new(move |e: JsValue| {
        let payload =
            js_sys::Reflect::get(&e, &JsValue::from_str("payload")).unwrap_or(JsValue::NULL);
        if let Ok(value) = serde_wasm_bindgen::from_value::<T>(payload) {
            on_payload(value);
        }
    })
    .into_js_value();
    wasm_bindgen_futures::spawn_local(async move {
        if let Err(e) = tauri_listen(event, &handler).await {
            console_error(&format!("cannot listen to {event}: {e:?}"));
        }
    });
}

thread_local! {
    static LAST_CALL: std::cell::Cell<f64> = const { std::cell::Cell::new(0.0) };
    static LAST_INPUT: std::cell::Cell<f64> = const { std::cell::Cell::new(0.0) };
}

/// When the UI last called the backend for the user (ms since the epoch).
pub fn last_call() -> f64 {
    LAST_CALL.with(|c| c.get())
}

/// When the user last pressed a key, clicked or scrolled (ms since the epoch).
pub fn last_input() -> f64 {
    LAST_INPUT.with(|c| c.get())
}

/// Notes the user's input: the session's idle time is measured from it.
pub fn note_input() {
    LAST_INPUT.with(|c| c.set(js_sys::Date::now()));
}

/// Invokes command `C` with its arguments (a struct whose fields are the
/// command's parameters); the answer is the command's declared reply.
pub async fn call<C: Command>(args: &C::Args) -> Result<C::Reply, CommandError> {
    LAST_CALL.with(|c| c.set(js_sys::Date::now()));
    call_passive::<C>(args).await
}

/// The same for a call the screen makes on its own (progress polling): it does not
/// count as the user's activity, here or in the backend.
pub async fn call_passive<C: Command>(args: &C::Args) -> Result<C::Reply, CommandError> {
    let cmd = C::NAME;
    let serializer = serde_wasm_bindgen::Serializer::json_compatible();
    let args = args
        .serialize(&serializer)
        .map_err(|e| CommandError::internal(format!("could not send the request: {e}")))?;
    match tauri_invoke(cmd, args).await {
        Ok(value) => serde_wasm_bindgen::from_value(value)
            .map_err(|e| CommandError::internal(format!("unexpected answer from the app: {e}"))),
        Err(error) => Err(
            serde_wasm_bindgen::from_value::<CommandError>(error.clone()).unwrap_or_else(|_| {
                CommandError::internal(
                    error
                        .as_string()
                        .unwrap_or_else(|| "the app did not answer".to_string()),
                )
            }),
        ),
    }
}

/// The page's clock (`performance.now()`), in milliseconds with fractions.
pub fn now_ms() -> f64 {
    js_sys::Reflect::get(&js_sys::global(), &"performance".into())
        .ok()
        .and_then(|p| {
            let now = js_sys::Reflect::get(&p, &"now".into()).ok()?;
            let now: js_sys::Function = now.into();
            now.call0(&p).ok()?.as_f64()
        })
        .unwrap_or_else(js_sys::Date::now)
}
