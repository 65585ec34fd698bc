/* The library's interface: a bounded counter. */
int counter_step(int value, int by);
int counter_valid(int value);
