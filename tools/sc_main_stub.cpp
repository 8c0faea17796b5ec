// libsystemc.so defines main(), which calls sc_main() (declared extern "C" in
// sysc/kernel/sc_externs.h). Our executables have their own main(), but the
// reference must still resolve at link time; this stub is never called. It
// lives outside the library on purpose: a SystemC platform that links
// libscimitar supplies its own sc_main.
extern "C" int sc_main(int, char **) { return 0; }
