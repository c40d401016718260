// The recommendations carousel: item cards (image, name, price, reason) from a get_recommendations
// or a UCP search_catalog answer. A click on a card, or "Add to cart", is reported with
// record_interaction carrying the answer's personalizationId and the item's
// personalizationContentId, so the click counts for the person and in Measure.
let toolInput = {};

function httpUrl(url) { return typeof url === "string" && /^https?:\/\//.test(url) ? url : null; }

function money(amount, currency, minorUnits) {
  if (amount === null || amount === undefined) return "";
  try {
    const format = new Intl.NumberFormat(undefined, { style: "currency", currency: currency || "USD" });
    const digits = format.resolvedOptions().maximumFractionDigits;
    return format.format(minorUnits ? amount / Math.pow(10, digits) : amount);
  } catch (_) {
    return String(amount) + (currency ? " " + currency : "");
  }
}

function fromRecommendations(data) {
  const individual = data.individual || toolInput.individual || null;
  return {
    individual,
    personalizationId: data.personalizationId || null,
    cards: (data.items || []).map((item) => ({
      id: item.id,
      name: item.name || item.id,
      image: httpUrl(item.image_url),
      price: money(item.price, item.currency, false),
      reason: item.reason || "",
      url: httpUrl(item.url),
      contentId: item.personalizationContentId || null,
    })),
  };
}

function fromCatalogSearch(data) {
  const buyer = ((toolInput.catalog || {}).buyer) || {};
  const info = data.personalization || {};
  return {
    individual: info.buyer || buyer.id || buyer.email || buyer.phone_number || null,
    personalizationId: info.personalizationId || null,
    cards: (data.products || []).map((product) => {
      const media = (product.media || []).find((m) => m.type === "image") || {};
      const low = (product.price_range || {}).min || {};
      const meta = product.metadata || {};
      return {
        id: product.id,
        name: product.title || product.id,
        image: httpUrl(media.url),
        price: money(low.amount, low.currency, true),
        reason: meta.reason || "",
        url: httpUrl(product.url),
        contentId: meta.personalizationContentId || null,
      };
    }),
  };
}

async function report(answer, card, kind, status) {
  if (!answer.individual) {
    status.textContent = "Not recorded: the person is anonymous.";
    return;
  }
  const args = { individual: answer.individual, kind, item_id: card.id };
  if (card.contentId) {
    args.personalizationContentId = card.contentId;
    args.personalizationId = answer.personalizationId || card.contentId.split(":")[0];
  }
  status.textContent = "…";
  try {
    await bridge.callTool("record_interaction", args);
    status.textContent = kind === "item_added_to_cart" ? "Added to cart" : "Clicked";
    status.dataset.recorded = kind;
  } catch (err) {
    status.textContent = "Not recorded: " + err.message;
  }
}

function cardNode(answer, card) {
  const node = el("article", "card");
  node.dataset.itemId = card.id;
  const open = el("button", "open");
  open.type = "button";
  open.setAttribute("aria-label", card.name);
  const picture = card.image ? el("img") : el("div", "noimg");
  if (card.image) {
    picture.src = card.image;
    picture.alt = "";
    picture.addEventListener("error", () => { picture.className = "broken"; });
  }
  const body = el("div", "body");
  body.append(el("span", "name", card.name), el("span", "price", card.price));
  if (card.reason) body.append(el("span", "reason", card.reason));
  open.append(picture, body);
  const status = el("div", "status");
  status.setAttribute("role", "status");
  open.addEventListener("click", () => {
    report(answer, card, "item_clicked", status);
    if (card.url) bridge.openLink(card.url);
  });
  const cart = el("button", "cart", "Add to cart");
  cart.type = "button";
  cart.addEventListener("click", () => report(answer, card, "item_added_to_cart", status));
  node.append(open, cart, status);
  return node;
}

function render(result) {
  const view = document.getElementById("view");
  let data = result.structuredContent;
  if (!data) {
    try { data = JSON.parse(((result.content || [])[0] || {}).text || "{}"); } catch (_) { data = {}; }
  }
  const answer = data.products ? fromCatalogSearch(data) : fromRecommendations(data);
  view.replaceChildren();
  if (result.isError || !answer.cards.length) {
    const text = result.isError ? ((result.content || [])[0] || {}).text : data.note;
    view.append(el("p", "empty", text || "No items to show."));
    return;
  }
  const track = el("section", "track");
  track.setAttribute("aria-label", "Recommended items");
  answer.cards.forEach((card) => track.append(cardNode(answer, card)));
  view.append(track);
}

bridge.on("ui/notifications/tool-input", (params) => { toolInput = params.arguments || {}; });
bridge.on("ui/notifications/tool-result", render);
bridge.start({ name: "p13n recommendations carousel", version: "1" });
