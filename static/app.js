// Progressive enhancement only: every page works without this file.
// Ctrl+Enter (or Cmd+Enter) in a textarea submits its form.
document.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && event.target instanceof HTMLTextAreaElement) {
    event.preventDefault();
    event.target.form?.requestSubmit();
  }
});

