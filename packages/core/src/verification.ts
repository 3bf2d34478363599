/** Token-level verification: issuers, key sets, JWT, introspection, cache, principal building. */
export {};
