// Users admin: add a user, change a role, deactivate / reactivate (through /api/v1/users).
import { api, busy, showError } from "/static/api.js";

const pageError = document.getElementById("users-error");
const pageStatus = document.getElementById("users-status");

const say = (message) => {
  showError(pageError, null);
  pageStatus.textContent = message;
  pageStatus.hidden = false;
};

const fail = (err) => {
  pageStatus.hidden = true;
  showError(pageError, err);
};

const patchUser = (row, body) => api("PATCH", `/api/v1/users/${encodeURIComponent(row.dataset.userId)}`, body);

for (const select of document.querySelectorAll(".role-select")) {
  select.dataset.current = select.value;
  select.addEventListener("change", async () => {
    const row = select.closest("tr");
    select.disabled = true;
    try {
      const user = await patchUser(row, { role: select.value });
      select.dataset.current = user.role;
      say(`${user.name} is now ${/^[aeiou]/i.test(user.role) ? "an" : "a"} ${user.role}.`);
    } catch (err) {
      select.value = select.dataset.current;
      fail(err);
    } finally {
      select.disabled = false;
    }
  });
}

for (const button of document.querySelectorAll(".toggle-active")) {
  button.addEventListener("click", async () => {
    const row = button.closest("tr");
    const active = button.dataset.active === "true";
    if (active && !window.confirm(`Deactivate ${row.dataset.userName}? They are logged out at once and cannot log in.`)) return;
    button.disabled = true;
    try {
      const user = await patchUser(row, { active: !active });
      button.dataset.active = String(user.active);
      button.textContent = user.active ? "Deactivate" : "Reactivate";
      button.classList.toggle("danger", user.active);
      row.classList.toggle("inactive", !user.active);
      const badge = row.querySelector(".active-badge");
      badge.textContent = user.active ? "active" : "deactivated";
      badge.className = `badge active-badge ${user.active ? "status-open" : "status-inactive"}`;
      say(user.active ? `${user.name} can log in again.` : `${user.name} is deactivated and logged out.`);
    } catch (err) {
      fail(err);
    } finally {
      button.disabled = false;
    }
  });
}

const form = document.getElementById("add-user-form");
const formError = document.getElementById("add-user-error");
form.addEventListener("submit", async (event) => {
  event.preventDefault();
  showError(formError, null);
  const data = Object.fromEntries(new FormData(form));
  data.name = data.name.trim();
  data.email = data.email.trim();
  if (!data.name || !data.email) {
    showError(formError, "Enter the person's name and email.");
    return;
  }
  if (data.password.length < 8) {
    showError(formError, "The password must be at least 8 characters.");
    return;
  }
  await busy(form, async () => {
    try {
      await api("POST", "/api/v1/users", data);
      window.location.reload();
    } catch (err) {
      showError(formError, err);
    }
  });
});
