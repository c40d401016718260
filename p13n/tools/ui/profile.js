// The profile card for service agents: who the person is (known or anonymous), segments, key
// insights, top categories and brands, cart, recent orders and consent, from a get_context answer.
// Personal data arrives masked unless the caller's credential has the `pii` scope.
function chips(values) {
  const box = el("div", "chips");
  values.forEach((v) => box.append(el("span", "chip", v)));
  return box;
}

function row(list, label, value) {
  if (value === null || value === undefined || value === "" ||
      (Array.isArray(value) && !value.length)) return;
  list.append(el("dt", null, label));
  const dd = el("dd");
  if (value instanceof Node) dd.append(value);
  else dd.textContent = String(value);
  list.append(dd);
}

function render(result) {
  const view = document.getElementById("view");
  const data = result.structuredContent || {};
  view.replaceChildren();
  if (result.isError || !data.found) {
    const text = result.isError ? ((result.content || [])[0] || {}).text : data.note;
    view.append(el("p", "empty", text || "Nobody known by that identifier yet."));
    return;
  }
  const card = el("section", "profile");
  card.setAttribute("aria-label", "Customer profile");
  card.append(el("h1", null, data.first_name || "Customer"));
  card.append(el("span", "kind", (data.known ? "Known customer" : "Anonymous visitor") +
    (data.individual ? " · " + data.individual : "")));
  const facts = el("dl");
  const insights = data.insights || {};
  row(facts, "Orders", insights.orders);
  row(facts, "Lifetime revenue", insights.lifetime_revenue);
  row(facts, "Segments", (data.segments || []).length ? chips(data.segments) : null);
  row(facts, "Likes", (data.top_categories || []).length ?
    chips(data.top_categories.map((a) => a.value)) : null);
  row(facts, "Brands", (data.top_brands || []).length ?
    chips(data.top_brands.map((a) => a.value)) : null);
  row(facts, "Said", (data.stated_preferences || []).join("; "));
  row(facts, "Cart", (data.cart || []).map((c) => (c.name || c.item_id) + " × " + c.quantity).join(", "));
  row(facts, "Recent orders", (data.recent_orders || []).map((o) => o.order_id + " (" + o.item_count + " items)").join(", "));
  row(facts, "Email", ((data.contact || {}).emails || []).join(", "));
  row(facts, "Consent", (data.consent || {}).status);
  row(facts, "Activity", (data.engagement || {}).summary);
  card.append(facts);
  view.append(card);
}

bridge.on("ui/notifications/tool-result", render);
bridge.start({ name: "p13n profile card", version: "1" });
