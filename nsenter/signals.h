#ifndef OCIRT_SIGNALS_H
#define OCIRT_SIGNALS_H

// ocirt_catch_signal makes sig, once delivered to this process, write its
// number as one byte to fd (see signals.go); 0, or -1 with errno set.
int ocirt_catch_signal(int sig, int fd);

#endif
