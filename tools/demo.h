/* demo.h — the built-in example service behind `troupe demo`. */
#ifndef TROUPE_TOOLS_DEMO_H
#define TROUPE_TOOLS_DEMO_H

/* Runs the shop service on its built-in tree for `orders` orders, prints
 * what happened and shuts it down. Returns the process exit status. */
int troupe_demo(unsigned orders);

#endif
