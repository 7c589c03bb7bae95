const form = document.getElementById("login-form");
const error = document.getElementById("login-error");
form.addEventListener("submit", async (event) => {
  event.preventDefault();
  error.hidden = true;
  const data = Object.fromEntries(new FormData(form));
  const response = await fetch("/api/v1/auth/login", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(data),
    credentials: "same-origin",
  });
  if (response.ok) {
    window.location.assign("/");
    return;
  }
  error.textContent = response.status === 429
    ? "Too many failed attempts. Wait a few minutes and try again."
    : "That email and password do not match an active account.";
  error.hidden = false;
});
