// "Hand to…": POST /api/v1/handoffs/{id}/assign with the chosen senior, then show the new state.
import { api, showError } from "/static/api.js";

document.querySelectorAll("[data-hand-to-form]").forEach((form) => {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const errorEl = form.querySelector("[data-hand-to-error]");
    showError(errorEl, null);
    const button = form.querySelector('button[type="submit"]');
    button.disabled = true;
    try {
      await api("POST", `/api/v1/handoffs/${encodeURIComponent(form.dataset.handoffId)}/assign`, {
        user_id: form.elements.user_id.value,
      });
      window.location.reload();
    } catch (error) {
      button.disabled = false;
      showError(errorEl, error);
    }
  });
});
