/* What the simulator's model files share: model.c (the register maps)
 * and physics.c (EVs, energy and the grid meter). */
#ifndef EDGE_SIM_PRIVATE_H
#define EDGE_SIM_PRIVATE_H

#include "sim/sim.h"

/* physics.c */
int sim_charger_phases(const struct sim_charger *c);
void sim_conn_local_phase_power(const struct sim_charger *c, int k,
    double out[3]);

#endif
