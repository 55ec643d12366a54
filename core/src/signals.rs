//! A graceful stop on SIGTERM and SIGINT (Ctrl-C; on Windows, Ctrl-C and closing
//! the console): the caller's `stop` runs once, on a thread of its own.

/// Installs the handlers before returning, then calls `stop` on the first signal.
pub fn on_stop_signal(stop: impl FnOnce() + Send + 'static) {
    let (installed, ready) = std::sync::mpsc::channel::<()>();
    std::thread::Builder::new()
        .name("cardiorisk-signals".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("signal runtime");
            runtime.block_on(async move {
                #[cfg(unix)]
                {
                    use tokio::signal::unix::{signal, SignalKind};
                    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
                    let mut int = signal(SignalKind::interrupt()).expect("SIGINT handler");
                    let _ = installed.send(());
                    tokio::select! {
                        _ = term.recv() => {}
                        _ = int.recv() => {}
                    }
                }
                #[cfg(not(unix))]
                {
                    let ctrl_c = tokio::signal::ctrl_c();
                    let _ = installed.send(());
                    let _ = ctrl_c.await;
                }
            });
            stop();
        })
        .expect("spawn the signal thread");
    let _ = ready.recv();
}
