// Progressive enhancement only: every page works without this file.
// Ctrl+Enter (or Cmd+Enter) in a textarea submits its form.
document.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && event.target instanceof HTMLTextAreaElement) {
    event.preventDefault();
    event.target.form?.requestSubmit();
  }
});

// "n" opens the next meeting (outside text fields).
document.addEventListener("keydown", (event) => {
  const target = event.target;
  if (event.key !== "n" || event.ctrlKey || event.metaKey || event.altKey) return;
  if (target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) return;
  const next = document.querySelector("a[data-next-meeting]");
  if (next) window.location.assign(next.getAttribute("href"));
});
