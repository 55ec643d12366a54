//! Just enough of the W3C WebDriver protocol to drive the app through tauri-driver.

use serde_json::{json, Value};
use std::time::{Duration, Instant};

const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

pub struct Session {
    base: String,
    id: String,
}

#[derive(Debug)]
pub struct Element(String);

fn check(response: Result<ureq::Response, ureq::Error>) -> Result<Value, String> {
    match response {
        Ok(r) => r.into_json::<Value>().map_err(|e| e.to_string()),
        Err(ureq::Error::Status(code, r)) => Err(format!(
            "HTTP {code}: {}",
            r.into_string().unwrap_or_default()
        )),
        Err(e) => Err(e.to_string()),
    }
}

impl Session {
    /// Opens a session on the app at `application`, retrying while the driver starts.
    pub fn start(port: u16, application: &str) -> Self {
        let base = format!("http://127.0.0.1:{port}");
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "wry",
            "tauri:options": {"application": application}
        }}});
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match check(ureq::post(&format!("{base}/session")).send_json(caps.clone())) {
                Ok(v) => {
                    let id = v["value"]["sessionId"]
                        .as_str()
                        .expect("sessionId")
                        .to_string();
                    return Session { base, id };
                }
                Err(e) if Instant::now() > deadline => panic!("no WebDriver session: {e}"),
                Err(_) => std::thread::sleep(Duration::from_millis(250)),
            }
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/session/{}{}", self.base, self.id, path)
    }

    fn post(&self, path: &str, body: Value) -> Result<Value, String> {
        check(ureq::post(&self.url(path)).send_json(body))
    }

    fn get(&self, path: &str) -> Result<Value, String> {
        check(ureq::get(&self.url(path)).call())
    }

    pub fn find(&self, css: &str) -> Result<Element, String> {
        let v = self.post("/element", json!({"using": "css selector", "value": css}))?;
        v["value"][ELEMENT_KEY]
            .as_str()
            .map(|s| Element(s.to_string()))
            .ok_or_else(|| format!("no element {css}: {v}"))
    }

    /// Waits up to 20 s for an element to exist.
    pub fn wait(&self, css: &str) -> Element {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            match self.find(css) {
                Ok(e) => return e,
                Err(e) if Instant::now() > deadline => panic!(
                    "timed out waiting for {css}: {e}; the page shows {}",
                    self.where_am_i()
                ),
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }

    /// The page's first heading and the window's size, for a failure to say where it was.
    pub fn where_am_i(&self) -> Value {
        self.execute(
            "const h = document.querySelector('h1');
             return {heading: h ? h.textContent : null,
                     viewport: [window.innerWidth, window.innerHeight]};",
        )
    }

    /// Waits up to 20 s for an element's text to satisfy `ok`, and returns it.
    pub fn wait_text(&self, css: &str, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let text = self
                .find(css)
                .and_then(|e| self.text(&e))
                .unwrap_or_default();
            if ok(&text) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "timed out on the text of {css}: last {text:?}; the page shows {}",
                self.where_am_i()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn text(&self, e: &Element) -> Result<String, String> {
        let v = self.get(&format!("/element/{}/text", e.0))?;
        Ok(v["value"].as_str().unwrap_or_default().to_string())
    }

    pub fn click(&self, e: &Element) {
        self.post(&format!("/element/{}/click", e.0), json!({}))
            .expect("click");
    }

    pub fn clear(&self, e: &Element) {
        self.post(&format!("/element/{}/clear", e.0), json!({}))
            .expect("clear");
    }

    /// Runs `script` in the page and returns its value.
    pub fn execute(&self, script: &str) -> Value {
        self.post("/execute/sync", json!({"script": script, "args": []}))
            .expect("execute")["value"]
            .clone()
    }

    /// Resizes the window and returns once the page is laid out at the new size.
    /// WebKitGTK answers after at most 200 ms whether or not the window has its new
    /// size yet, and a click aimed at the old layout lands beside its element.
    pub fn set_window_size(&self, width: u32, height: u32) {
        let viewport = "return [window.innerWidth, window.innerHeight];";
        let before = self.execute(viewport);
        let rect = self.get("/window/rect").expect("the window's size")["value"].clone();
        let resized = rect["width"] != json!(width) || rect["height"] != json!(height);
        self.post("/window/rect", json!({"width": width, "height": height}))
            .expect("set the window size");
        let deadline = Instant::now() + Duration::from_secs(20);
        while resized && self.execute(viewport) == before {
            assert!(
                Instant::now() < deadline,
                "the page never saw the window resized to {width}x{height}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        self.settle_layout();
    }

    /// Returns once the viewport and the page's width are the same across two
    /// animation frames (up to 20 s).
    pub fn settle_layout(&self) {
        let layout = "return [window.innerWidth, window.innerHeight, \
                      document.documentElement.scrollWidth];";
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut last = self.execute(layout);
        loop {
            assert!(
                Instant::now() < deadline,
                "the page's layout kept changing: last {last}"
            );
            self.execute(
                "return new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));",
            );
            let now = self.execute(layout);
            if now == last {
                return;
            }
            last = now;
        }
    }

    /// Scrolls the first element matching `css` to the top of the window.
    pub fn scroll_to(&self, css: &str) {
        let script = "document.querySelector(arguments[0]).scrollIntoView({block: 'start'});";
        self.post("/execute/sync", json!({"script": script, "args": [css]}))
            .expect("scroll");
    }

    pub fn attr(&self, e: &Element, name: &str) -> Option<String> {
        let v = self
            .get(&format!("/element/{}/attribute/{name}", e.0))
            .ok()?;
        v["value"].as_str().map(str::to_string)
    }

    /// How many elements match `css` now.
    pub fn count(&self, css: &str) -> usize {
        self.post("/elements", json!({"using": "css selector", "value": css}))
            .ok()
            .and_then(|v| v["value"].as_array().map(Vec::len))
            .unwrap_or(0)
    }

    /// Waits up to 20 s until exactly `n` elements match `css`.
    pub fn wait_count(&self, css: &str, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.count(css) != n {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {n} of {css}: {} now",
                self.count(css)
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn type_text(&self, e: &Element, text: &str) {
        self.try_type_text(e, text).expect("send keys");
    }

    pub fn try_type_text(&self, e: &Element, text: &str) -> Result<(), String> {
        self.post(&format!("/element/{}/value", e.0), json!({"text": text}))
            .map(drop)
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = ureq::delete(&format!("{}/session/{}", self.base, self.id)).call();
    }
}
