//! The in-app switch for the gateway: off unless an administrator turned it on; the
//! choice and the port are kept in the settings and restored at start-up.

use super::{limiter, start, GatewayHandle};
use crate::service::Services;
use cardiorisk_contract::CommandError;
use std::net::SocketAddr;
use std::sync::Arc;

/// The in-app switch: the gateway is off unless an administrator turned it on; the
/// choice and the port are kept in the settings and restored at start-up.
pub struct Control {
    services: Arc<Services>,
    running: std::sync::Mutex<Option<GatewayHandle>>,
    error: std::sync::Mutex<Option<String>>,
}

const ENABLED_KEY: &str = "gateway.enabled";
const PORT_KEY: &str = "gateway.port";

impl Control {
    pub fn new(services: Arc<Services>) -> Self {
        Control {
            services,
            running: std::sync::Mutex::new(None),
            error: std::sync::Mutex::new(None),
        }
    }

    fn stored(&self) -> (bool, u16) {
        let enabled = self.services.setting(ENABLED_KEY).ok().flatten().as_deref() == Some("true");
        let port = self
            .services
            .setting(PORT_KEY)
            .ok()
            .flatten()
            .and_then(|p| p.parse().ok())
            .unwrap_or(cardiorisk_contract::DEFAULT_GATEWAY_PORT);
        (enabled, port)
    }

    fn apply(&self, enabled: bool, port: u16) {
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(handle) = running.take() {
            let addr = handle.addr;
            handle.stop();
            tracing::info!(%addr, "gateway stopped");
        }
        let mut error = self.error.lock().unwrap_or_else(|e| e.into_inner());
        *error = None;
        if enabled {
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            match start(Arc::clone(&self.services), addr, limiter::system_clock()) {
                Ok(handle) => {
                    tracing::info!(%handle.addr, "gateway listening");
                    *running = Some(handle);
                }
                Err(e) => {
                    tracing::error!(port, error = %e, "gateway could not start");
                    *error = Some(e.to_string());
                }
            }
        }
    }

    /// Stops the gateway gracefully without changing the stored setting (the app is
    /// closing).
    pub fn stop(&self) {
        if let Some(handle) = self
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            let addr = handle.addr;
            handle.stop();
            tracing::info!(%addr, "gateway stopped");
        }
    }

    /// Applies the stored setting again (after a restore): a running gateway restarts
    /// with fresh rate windows, or stops when the restored setting says off.
    pub fn reload(&self) {
        let (enabled, port) = self.stored();
        self.apply(enabled, port);
    }

    /// Starts the gateway if it was left on.
    pub fn restore(&self) {
        let (enabled, port) = self.stored();
        if enabled {
            self.apply(true, port);
        }
    }

    fn status_now(&self) -> cardiorisk_contract::GatewayStatus {
        let (enabled, port) = self.stored();
        let listening = self
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(|h| h.addr.to_string());
        let error = self.error.lock().unwrap_or_else(|e| e.into_inner()).clone();
        cardiorisk_contract::GatewayStatus {
            enabled,
            port,
            listening,
            error,
        }
    }

    pub fn status(&self, token: &str) -> Result<cardiorisk_contract::GatewayStatus, CommandError> {
        self.services.require_admin(token)?;
        Ok(self.status_now())
    }

    /// Turns the gateway on or off on `port` (1024 to 65535), and remembers it.
    pub fn set(
        &self,
        token: &str,
        enabled: bool,
        port: u16,
    ) -> Result<cardiorisk_contract::GatewayStatus, CommandError> {
        self.services.require_admin(token)?;
        if port < cardiorisk_contract::MIN_GATEWAY_PORT {
            let min = cardiorisk_contract::MIN_GATEWAY_PORT.to_string();
            return Err(cardiorisk_contract::FieldError::rule("port", &[("min", &min)]).into());
        }
        self.services.set_settings(
            token,
            &[
                (ENABLED_KEY, enabled.to_string()),
                (PORT_KEY, port.to_string()),
            ],
        )?;
        self.apply(enabled, port);
        Ok(self.status_now())
    }
}
