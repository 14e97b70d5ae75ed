/** What a driver method returns: a value at once (SQLite) or a Promise (a networked database). Callers await both. */
export type MaybePromise<T> = T | Promise<T>;
