//! The browser's side of islands mode: the module's entry (`hydrate`) and the page's
//! `data-hydrated` flag, which the browser tests wait for. The flag turns "true" once every island
//! on the page is alive; a lazy island's code arrives as its own chunk, so that can be a while
//! after the entry ran.

/// Each island calls this as it is built: once it is alive in the browser it counts towards the
/// flag (effects never run on the server).
pub fn island_alive() {
    #[cfg(feature = "hydrate")]
    leptos::prelude::Effect::new(|_| browser::one_more_alive());
}

#[cfg(feature = "hydrate")]
mod browser {
    use std::cell::Cell;

    use leptos::prelude::*;

    thread_local! {
        /// Islands on this page not yet alive.
        static WAITING: Cell<u32> = const { Cell::new(0) };
    }

    #[wasm_bindgen::prelude::wasm_bindgen]
    pub fn hydrate() {
        console_error_panic_hook::set_once();
        // The pages are server-rendered HTML whose forms post without JavaScript; only
        // `#[island]` components come alive here, each loading its own chunk.
        leptos::mount::hydrate_islands();
        // Islands write their texts in the page's language, which the server put in `<html lang>`.
        provide_context(crate::i18n::request_locale());
        let islands = document()
            .get_elements_by_tag_name("leptos-island")
            .length();
        WAITING.set(islands);
        if islands == 0 {
            mark_hydrated();
        }
    }

    pub fn one_more_alive() {
        let waiting = WAITING.get().saturating_sub(1);
        WAITING.set(waiting);
        if waiting == 0 {
            mark_hydrated();
        }
    }

    fn mark_hydrated() {
        if let Some(app) = document().query_selector(".app").ok().flatten() {
            // Setting a data attribute on an element in the page cannot fail.
            let _ = app.set_attribute("data-hydrated", "true");
        }
    }
}
