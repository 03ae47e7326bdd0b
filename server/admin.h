/* admin.h - kartoteka-server admin subcommands. */
#ifndef KT_ADMIN_H
#define KT_ADMIN_H
int admin_main(const char *db_path, int argc, char **argv);
#endif
