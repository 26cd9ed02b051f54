/**
 * An id as one segment of an API path. A page's id comes from its address (or query), which anyone
 * can write into a link, and is decoded there: `..%2F` is `../` and `%3F` a `?`. Put in a path as
 * it is, it would send the page's requests, with the signed-in user's access token, to another
 * route than the page's (the GET alias of .../stripe/connect starts a Stripe account), so it is
 * escaped, and a segment of dots (a step up) made a plain id.
 */
export const segment = (id: string | undefined) => {
  const escaped = encodeURIComponent(id ?? "");
  // A URL parser reads `%2E` as a dot too, so a segment of dots only is escaped twice: the API
  // then sees the literal `%2E%2E`, an id like any other (404), not a step up.
  return /^\.+$/.test(id ?? "") ? escaped.replaceAll(".", "%252E") : escaped;
};
