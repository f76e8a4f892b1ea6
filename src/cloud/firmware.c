/* UpdateFirmware (1.6 and 2.0.1) carried out on the chargers, and the
 * FirmwareStatusNotification sequence that follows it.
 *
 * What the manual gives (§5.6): register 30002 "start firmware upgrade",
 * an HTTP(S) URL written as ASCII (128 registers), listed for the AC
 * Wallbox only; the charger fetches the file itself.  No register tells
 * the download's progress.  What the gateway can see: whether the charger
 * took the URL (the write succeeded or was refused with an exception), a
 * connector reading 9 "unavailable (firmware update)" while it installs,
 * the charger going away (it restarts) and, once it answers again, its
 * firmware version (register 130, read on every connection).  So, per
 * charger:
 *   URL written and taken       -> downloading (the charger fetches)
 *   URL refused, charger away   -> download failed
 *   status 9, or it restarted   -> installing (it has the file)
 *   back with another version   -> installed
 *   back with the same version  -> installation failed
 *   no status 9 within CLOUD_FW_DOWNLOAD_MS -> download failed
 *   not back within CLOUD_FW_INSTALL_MS     -> installation failed
 * The gateway is one charging station: the backend gets one sequence,
 * Downloading -> Downloaded -> Installing -> Installed when every charger
 * installed, InstallationFailed when one did not (DownloadFailed when none
 * got as far as installing).  The gateway's own software is not updated
 * this way; its version (BootNotification) is the package's. */
#include "config.h"

#include "cloud/cloud-private.h"

#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "southbound/southbound.h"

static const char *
step_name(enum cloud_fw_step step)
{
	switch (step) {
	case CLOUD_FW_NONE: return "none";
	case CLOUD_FW_PENDING: return "waiting to be written";
	case CLOUD_FW_WRITING: return "URL being written";
	case CLOUD_FW_DOWNLOADING: return "downloading";
	case CLOUD_FW_INSTALLING: return "installing";
	case CLOUD_FW_INSTALLED: return "installed";
	case CLOUD_FW_DOWNLOAD_FAILED: return "download failed";
	case CLOUD_FW_INSTALL_FAILED: return "installation failed";
	}
	return "none";
}

void
cloud_firmware_resize(struct cloud *c)
{
	const struct site *s = c->site;
	struct cloud_fw_charger *ch;

	ch = xcalloc((size_t)s->n_chargers + 1, sizeof(*ch));
	for (int k = 0; k < s->n_chargers; k++) {
		for (int j = 0; j < c->fw.n; j++) {
			if (c->fw.ch[j].step != CLOUD_FW_NONE &&
			    strcmp(c->fw.ch[j].name,
			    s->cfg->chargers[k].name) == 0) {
				ch[k] = c->fw.ch[j];
				break;
			}
		}
	}
	free(c->fw.ch);
	c->fw.ch = ch;
	c->fw.n = s->n_chargers;
}

/* Moves charger ch's step to step at now_ms, logged with why. */
static void
set_step(struct cloud *c, int ch, enum cloud_fw_step step, int64_t now_ms,
    const char *why)
{
	struct cloud_fw_charger *f = &c->fw.ch[ch];

	f->step = step;
	f->since_ms = now_ms;
	if (step == CLOUD_FW_DOWNLOAD_FAILED || step == CLOUD_FW_INSTALL_FAILED)
		log_warnx("%s: firmware update: %s: %s",
		    c->cfg->chargers[ch].name, step_name(step), why);
	else
		log_info("%s: firmware update: %s (%s)",
		    c->cfg->chargers[ch].name, step_name(step), why);
}

enum ocpp_result
cloud_on_firmware(void *ud, const char *url, int64_t retrieve_ms)
{
	struct cloud *c = ud;
	const struct site *s = c->site;
	int targets = 0;

	if (c->fw.active) {
		log_info("firmware update refused: one is in progress");
		return OCPP_REJECTED;
	}
	for (int ch = 0; ch < s->n_chargers; ch++)
		c->fw.ch[ch].step = CLOUD_FW_NONE;
	if (url == NULL || strlen(url) > SB_FW_URL_MAX) {
		log_warnx("firmware update refused: the URL is longer than the "
		    "%d bytes register 30002 holds", SB_FW_URL_MAX);
		goto none;
	}
	for (int ch = 0; c->sb != NULL && ch < s->n_chargers; ch++) {
		if (!sb_charger_has_command(c->sb, (size_t)ch,
		    SB_CMD_FIRMWARE))
			continue;
		c->fw.ch[ch].step = CLOUD_FW_PENDING;
		c->fw.ch[ch].went_away = false;
		strlcpy_ok(c->fw.ch[ch].name, s->cfg->chargers[ch].name,
		    sizeof(c->fw.ch[ch].name));
		strlcpy_ok(c->fw.ch[ch].old_version, s->readings[ch].firmware,
		    sizeof(c->fw.ch[ch].old_version));
		targets++;
	}
	if (targets == 0) {
		log_warnx("firmware update refused: no charger's model has "
		    "the firmware register (30002: the AC Wallbox only)");
		goto none;
	}
	free(c->fw.url);
	c->fw.url = xstrdup(url);
	c->fw.retrieve_epoch_ms = retrieve_ms;
	c->fw.active = true;
	c->fw.started = false;
	c->fw.told = 0;
	log_info("firmware update for %d charger%s from %s", targets,
	    targets == 1 ? "" : "s", url);
	return OCPP_ACCEPTED;
none:
	/* 1.6 cannot refuse (UpdateFirmware.conf is empty): it is told
	 * DownloadFailed instead. */
	c->fw.refused = c->st.version == OCPP_V16;
	return OCPP_REJECTED;
}

/* Follows charger ch's update from its latest reading. */
static void
follow(struct cloud *c, int ch, int64_t now_ms)
{
	struct cloud_fw_charger *f = &c->fw.ch[ch];
	const struct sb_charger_reading *r = &c->site->readings[ch];
	int64_t age = now_ms - f->since_ms;
	bool fw_status = false;
	int rc;

	for (int k = 0; k < r->n_connectors && k < SB_MAX_CONNECTORS; k++)
		if (r->conn[k].status == SB_STATUS_UNAVAILABLE_FW)
			fw_status = true;
	switch (f->step) {
	case CLOUD_FW_NONE:
	case CLOUD_FW_INSTALLED:
	case CLOUD_FW_DOWNLOAD_FAILED:
	case CLOUD_FW_INSTALL_FAILED:
		return;
	case CLOUD_FW_PENDING:
		/* (30002 is charger-wide: connector 1 names the charger) */
		rc = sb_submit_command(c->sb, (size_t)ch, 1, SB_CMD_FIRMWARE,
		    0, c->fw.url, &f->seq);
		if (rc == 0)
			set_step(c, ch, CLOUD_FW_WRITING, now_ms, "URL queued");
		else if (rc != SB_ERR_OFFLINE && rc != SB_ERR_BUSY)
			set_step(c, ch, CLOUD_FW_DOWNLOAD_FAILED, now_ms,
			    sb_strerror(rc));
		else if (age > CLOUD_FW_DOWNLOAD_MS)
			set_step(c, ch, CLOUD_FW_DOWNLOAD_FAILED, now_ms,
			    "the charger did not answer");
		return;
	case CLOUD_FW_WRITING:
		if (r->commands_done < f->seq)
			return;
		if (r->command_result == 0)
			set_step(c, ch, CLOUD_FW_DOWNLOADING, now_ms,
			    "the charger took the URL and fetches the file");
		else
			set_step(c, ch, CLOUD_FW_DOWNLOAD_FAILED, now_ms,
			    r->error[0] != '\0' ? r->error :
			    "the charger refused the URL");
		return;
	case CLOUD_FW_DOWNLOADING:
		if (fw_status || !r->online || !r->identified) {
			f->went_away = !r->online || !r->identified;
			set_step(c, ch, CLOUD_FW_INSTALLING, now_ms, fw_status ?
			    "status 9, unavailable (firmware update)" :
			    "the charger restarted");
		} else if (age > CLOUD_FW_DOWNLOAD_MS) {
			set_step(c, ch, CLOUD_FW_DOWNLOAD_FAILED, now_ms,
			    "no installation seen in time");
		}
		return;
	case CLOUD_FW_INSTALLING:
		if (!r->online || !r->identified) {
			f->went_away = true;
		} else if (f->went_away && r->firmware[0] != '\0') {
			if (strcmp(r->firmware, f->old_version) != 0) {
				char why[128];

				snprintf(why, sizeof(why), "version %s, was %s",
				    r->firmware, f->old_version);
				set_step(c, ch, CLOUD_FW_INSTALLED, now_ms, why);
			} else {
				set_step(c, ch, CLOUD_FW_INSTALL_FAILED, now_ms,
				    "back with the same version");
			}
			return;
		}
		if (age > CLOUD_FW_INSTALL_MS)
			set_step(c, ch, CLOUD_FW_INSTALL_FAILED, now_ms,
			    "no new version seen in time");
		return;
	}
}

/* Tells the backend status, once. */
static void
tell(struct cloud *c, int stage, const char *status)
{
	if (c->fw.told >= stage)
		return;
	c->fw.told = stage;
	(void)ocpp_session_firmware_status(c->s, status);
}

void
cloud_firmware_tick(struct cloud *c, int64_t now_ms, int64_t epoch_ms)
{
	const struct site *s = c->site;
	int busy = 0, installing = 0, installed = 0, dl_failed = 0,
	    inst_failed = 0, seen_installing = 0;

	if (c->fw.refused) {
		c->fw.refused = false;
		(void)ocpp_session_firmware_status(c->s, "DownloadFailed");
	}
	if (!c->fw.active)
		return;
	if (epoch_ms < c->fw.retrieve_epoch_ms) {
		/* 2.0.1 has a status for it; 1.6 waits quietly. */
		if (c->st.version == OCPP_V201)
			tell(c, 1, "DownloadScheduled");
		return;
	}
	if (!c->fw.started) {
		/* the time to reach each charger counts from now */
		c->fw.started = true;
		for (int ch = 0; ch < s->n_chargers; ch++)
			c->fw.ch[ch].since_ms = now_ms;
	}
	for (int ch = 0; ch < s->n_chargers; ch++) {
		follow(c, ch, now_ms);
		switch (c->fw.ch[ch].step) {
		case CLOUD_FW_NONE:
			break;
		case CLOUD_FW_PENDING:
		case CLOUD_FW_WRITING:
		case CLOUD_FW_DOWNLOADING:
			busy++;
			break;
		case CLOUD_FW_INSTALLING:
			installing++;
			seen_installing++;
			break;
		case CLOUD_FW_INSTALLED:
			installed++;
			seen_installing++;
			break;
		case CLOUD_FW_DOWNLOAD_FAILED:
			dl_failed++;
			break;
		case CLOUD_FW_INSTALL_FAILED:
			inst_failed++;
			seen_installing++;
			break;
		}
	}
	tell(c, 2, "Downloading");
	if (busy > 0)
		return;
	if (seen_installing > 0) {
		tell(c, 3, "Downloaded");
		tell(c, 4, "Installing");
	}
	if (installing > 0)
		return;
	if (inst_failed == 0 && dl_failed == 0)
		tell(c, 5, "Installed");
	else if (seen_installing > 0)
		tell(c, 5, "InstallationFailed");
	else
		tell(c, 5, "DownloadFailed");
	log_info("firmware update done: %d installed, %d download failed, "
	    "%d installation failed", installed, dl_failed, inst_failed);
	c->fw.active = false;
}
