// The four API keys a registration answered, held in memory until the welcome page shows them
// once; never written to storage.
let keys: Record<string, string> | null = null;

export const setWelcomeKeys = (value: Record<string, string>) => {
  keys = value;
};

/** Hands the keys over once: a reload or a second visit finds none. */
export const takeWelcomeKeys = () => {
  const value = keys;
  keys = null;
  return value;
};

export const hasWelcomeKeys = () => keys !== null;
