"""The physical inventory: sites, racks, OPDs, servers, components, addresses, host keys."""
