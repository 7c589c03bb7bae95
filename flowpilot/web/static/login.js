import { api, busy, showError } from "/static/api.js";

const form = document.getElementById("login-form");
const error = document.getElementById("login-error");

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  showError(error, null);
  const data = Object.fromEntries(new FormData(form));
  if (!data.email || !data.password) {
    showError(error, "Enter your email and password.");
    return;
  }
  await busy(form, async () => {
    try {
      await api("POST", "/api/v1/auth/login", { email: data.email, password: data.password });
      window.location.assign(form.dataset.next || "/");
    } catch (err) {
      if (err.status === 429) {
        showError(error, "Too many failed attempts. Wait a few minutes and try again.");
      } else if (err.status === 401 || err.status === 422) {
        showError(error, "That email and password do not match an active account.");
      } else {
        showError(error, err.message);
      }
      form.password.value = "";
      form.password.focus();
    }
  });
});
