/* What every door shares: the way to another door by name. */
#include <string.h>

#include "doors/door.h"

const struct door *
door_find(const struct door_env *env, const char *name)
{
	for (const struct door *const *d = env->doors; *d != NULL; d++)
		if (strcmp((*d)->name, name) == 0)
			return *d;
	return NULL;
}
