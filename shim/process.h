/* shim/process.h — process-level state the start-up code sets. */
#ifndef UFSHIM_SHIM_PROCESS_H
#define UFSHIM_SHIM_PROCESS_H

/* At start-up: remember the UFSHIM_* settings that exec must hand on. */
void shim_save_environment(void);

#endif
