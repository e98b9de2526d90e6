// Capture without loss, as progressive enhancement: every page works without this file (a plain
// save; a tick sends the page back with "Marked done" and an Undo button).
//
// - A note editor (a form with data-draft-url) keeps a draft on the server a moment after typing
//   stops and when the page is hidden or left, and says where the text stands ("Draft kept
//   14:04"). The server never applies a draft over a newer saved version.
// - Ticking an item done happens in place, with "Done" and an Undo button in the live region.
//
// Hand-written rather than htmx: two small behaviours, a keepalive request when the page goes
// away (which htmx does not do), and no inline styles or eval for the strict CSP to allow.
"use strict";

(() => {
  const QUIET_MS = 1500;
  // Browsers refuse a keepalive request body larger than 64 KiB: a bigger note asks before
  // leaving instead.
  const KEEPALIVE_MAX = 60000;

  const csrfOf = (form) => form.querySelector("input[name=csrf_token]")?.value ?? "";

  function setupEditor(form) {
    const body = form.querySelector("textarea[name=body]");
    const title = form.querySelector("input[name=title]");
    const state = form.querySelector("[data-save-state]");
    if (!body) return;
    const text = () => JSON.stringify([title?.value ?? "", body.value]);
    // The text the server has (as the saved note or as a draft).
    let kept = text();
    let timer = null;
    let sending = false;
    let failed = false;
    let leaving = false;

    const say = (label) => { if (state) state.textContent = label; };
    const fields = () => new URLSearchParams({
      csrf_token: csrfOf(form),
      base_version: form.querySelector("input[name=base_version]")?.value ?? "0",
      title: title?.value ?? "",
      body: body.value,
    });

    async function keep() {
      timer = null;
      if (leaving || sending || text() === kept) return;
      sending = true;
      const sent = text();
      say("Keeping a draft…");
      try {
        const response = await fetch(form.dataset.draftUrl, {
          method: "POST",
          headers: { "Accept": "application/json", "X-CSRF-Token": csrfOf(form) },
          body: fields(),
        });
        if (!response.ok) throw new Error(String(response.status));
        const answer = await response.json();
        kept = sent;
        failed = false;
        if (!leaving) say(answer.label);
      } catch {
        failed = true;
        if (!leaving) say("Draft not kept (offline?). Keep this page open, or save.");
      } finally {
        sending = false;
        // Typing went on while the request was out.
        if (!leaving && text() !== kept && !timer) timer = setTimeout(keep, QUIET_MS);
      }
    }

    // The page is going away: send what is unkept with a request that outlives it.
    function keepNow() {
      if (leaving || text() === kept) return;
      const payload = fields();
      if (payload.toString().length > KEEPALIVE_MAX) return;
      kept = text();
      fetch(form.dataset.draftUrl, {
        method: "POST",
        keepalive: true,
        headers: { "Accept": "application/json", "X-CSRF-Token": csrfOf(form) },
        body: payload,
      }).catch(() => {});
    }

    form.addEventListener("input", () => {
      say("Unsaved changes");
      clearTimeout(timer);
      timer = setTimeout(keep, QUIET_MS);
    });
    form.addEventListener("submit", () => {
      // Saving: the save replaces any draft, so none may arrive after it.
      leaving = true;
      clearTimeout(timer);
      say("Saving…");
    });
    // Discarding the draft: nothing of this text may be kept again on the way out.
    for (const discard of document.querySelectorAll("form[data-discard-draft]")) {
      discard.addEventListener("submit", () => {
        leaving = true;
        clearTimeout(timer);
      });
    }
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "hidden") keepNow();
    });
    window.addEventListener("pagehide", keepNow);
    window.addEventListener("beforeunload", (event) => {
      if (leaving || text() === kept) return;
      keepNow();
      // Still unkept (too large for a keepalive request, or the last attempt failed): ask.
      if (text() !== kept || failed) event.preventDefault();
    });
  }

  // The live region every signed-in page has (templates/notice.html).
  function announce(message, undo) {
    const region = document.getElementById("notices");
    if (!region) return;
    const line = document.createElement("div");
    line.className = "notice-line";
    const span = document.createElement("span");
    span.textContent = message;
    line.append(span);
    if (undo) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "small";
      button.textContent = "Undo";
      button.addEventListener("click", () => { line.remove(); undo(); });
      line.append(" ", button);
    }
    region.replaceChildren(line);
  }

  // An item's tick form (templates/item.html) shows `done` after the server agreed.
  function showTick(form, done) {
    const item = form.closest(".item");
    const button = form.querySelector("button");
    const field = form.querySelector("input[name=done]");
    const label = form.dataset.text ?? "";
    item?.classList.toggle("done", done);
    button.classList.toggle("checked", done);
    button.textContent = done ? "✓" : "";
    button.setAttribute("aria-label", done ? `Mark “${label}” not done` : `Mark “${label}” done`);
    field.value = done ? "false" : "true";
  }

  async function tick(form, done) {
    const fields = new URLSearchParams(new FormData(form));
    fields.set("done", String(done));
    const response = await fetch(form.action, {
      method: "POST",
      headers: { "Accept": "application/json", "X-CSRF-Token": csrfOf(form) },
      body: fields,
    });
    if (!response.ok) throw new Error(String(response.status));
    return (await response.json()).done;
  }

  document.addEventListener("submit", async (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.classList.contains("tick")) return;
    event.preventDefault();
    const done = form.querySelector("input[name=done]")?.value === "true";
    const label = form.dataset.text ?? "the item";
    try {
      showTick(form, await tick(form, done));
      if (!done) {
        announce(`Marked “${label}” not done.`);
        return;
      }
      announce(`Done: “${label}”.`, async () => {
        try {
          showTick(form, await tick(form, false));
          announce(`Undone: “${label}” is open again.`);
        } catch {
          announce(`Could not undo; reload the page and try again.`);
        }
      });
    } catch {
      // The page's own way works without script: let the form go.
      form.submit();
    }
  });

  // Back to an editor or a merge view kept whole by the browser (its back/forward cache): its
  // version may be stale, so ask the server again (a merged view then sends on to the note).
  window.addEventListener("pageshow", (event) => {
    if (event.persisted && document.querySelector("form[data-draft-url], form.merge-form")) {
      window.location.reload();
    }
  });

  for (const form of document.querySelectorAll("form[data-draft-url]")) setupEditor(form);
})();
