// Keyboard-first navigation (progressive enhancement: every page works without this file).
// Single keys act only outside text fields and without Ctrl, Cmd or Alt, so typing is never
// taken over. The list of shortcuts is the dialog in base.html, opened with "?".

// What counts as an entry of a list for j/k: the rows people act on, on every page.
const LIST_ITEMS = [
  ".agenda-item", "ul.items > li.item", ".meeting-list > li", ".series-list > li",
  ".results > li", ".note-list > li", "main table tbody > tr", ".attendees > li",
].map((s) => `main ${s}`).join(", ");

// "g" then a letter: where it goes.
const GO_TO = { t: "/", m: "/meetings", p: "/people", a: "/action-items", d: "/decisions", o: "/notes" };

let pendingG = 0;

function typing(target) {
  return target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement
    || target instanceof HTMLSelectElement || (target instanceof HTMLElement && target.isContentEditable);
}

/** Says `message` to screen readers through the page's polite live region. */
function announce(message) {
  const region = document.getElementById("announce");
  if (!region) return;
  // Emptied first, so the same message twice is announced twice.
  region.textContent = "";
  window.setTimeout(() => { region.textContent = message; }, 50);
}

function listItems() {
  return Array.from(document.querySelectorAll(LIST_ITEMS)).filter((el) => el.offsetParent !== null);
}

function currentItem() {
  const active = document.activeElement;
  return active instanceof HTMLElement ? active.closest(LIST_ITEMS) : null;
}

function moveFocus(step) {
  const items = listItems();
  if (items.length === 0) return;
  const at = items.indexOf(currentItem());
  const next = items[at === -1 ? (step > 0 ? 0 : items.length - 1) : Math.min(Math.max(at + step, 0), items.length - 1)];
  document.querySelectorAll(".is-current").forEach((el) => el.classList.remove("is-current"));
  next.classList.add("is-current");
  if (!next.hasAttribute("tabindex")) next.setAttribute("tabindex", "-1");
  next.focus();
  next.scrollIntoView({ block: "nearest" });
}

function openItem(item) {
  const link = item.querySelector("a[href]:not(.button)");
  if (link) window.location.assign(link.getAttribute("href"));
}

// Ticks the focused item through its own form, in place: the page keeps its focus and place,
// and the change is announced. The form posts as without script (CSRF token included).
async function toggleDone(item) {
  const form = item.querySelector("form.tick");
  if (!form) return;
  const button = form.querySelector("button");
  const done = form.querySelector("input[name=done]");
  const text = item.querySelector(".item-text")?.dataset.text ?? "";
  const response = await fetch(form.action, { method: "POST", body: new URLSearchParams(new FormData(form)), credentials: "same-origin" });
  if (!response.ok) {
    announce(`Could not change “${text}”: the server answered ${response.status}.`);
    return;
  }
  const nowDone = done.value === "true";
  done.value = nowDone ? "false" : "true";
  item.classList.toggle("done", nowDone);
  button.classList.toggle("checked", nowDone);
  button.textContent = nowDone ? "✓" : "";
  button.setAttribute("aria-label", `Mark “${text}” ${nowDone ? "not done" : "done"}`);
  announce(`“${text}” marked ${nowDone ? "done" : "not done"}.`);
}

function editNotes() {
  const notes = document.querySelector("#notes textarea");
  if (!notes) return false;
  notes.focus();
  notes.setSelectionRange(notes.value.length, notes.value.length);
  return true;
}

document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented || typing(event.target)) return;
  const dialog = document.getElementById("shortcuts");
  if (dialog?.open) return;
  const key = event.key;
  if (pendingG && Date.now() - pendingG < 1500) {
    pendingG = 0;
    if (GO_TO[key]) {
      event.preventDefault();
      window.location.assign(GO_TO[key]);
    }
    return;
  }
  pendingG = 0;
  const item = currentItem();
  switch (key) {
    case "/": {
      const search = document.getElementById("q");
      if (!search) return;
      event.preventDefault();
      search.focus();
      search.select();
      return;
    }
    case "?":
      if (!dialog) return;
      event.preventDefault();
      dialog.showModal();
      return;
    case "g":
      pendingG = Date.now();
      return;
    case "j":
    case "k":
      event.preventDefault();
      moveFocus(key === "j" ? 1 : -1);
      return;
    case "Enter":
      // On a link or button Enter does what it always does; on a list entry it opens it.
      if (item && document.activeElement === item) {
        event.preventDefault();
        openItem(item);
      }
      return;
    case "x":
      if (item) {
        event.preventDefault();
        toggleDone(item);
      }
      return;
    case "e":
      if (editNotes()) event.preventDefault();
      return;
    case "n": {
      const next = document.querySelector("a[data-next-meeting]");
      if (next) window.location.assign(next.getAttribute("href"));
      return;
    }
    default:
  }
});
