import init from "./cardiorisk_ui.js";
init({ module_or_path: new URL("cardiorisk_ui_bg.wasm", import.meta.url) });
