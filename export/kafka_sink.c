/*
 * The Kafka sink (see kafka_sink.h).
 *
 * librdkafka calls back (delivery reports, errors) only from rd_kafka_poll,
 * which this file calls from the writer's thread, so the counters and the
 * spool need no lock. Each message carries its sink_topic as the message
 * opaque: a failed delivery report holds the payload, key and topic needed
 * to spool it again.
 *
 * Replay: while the spool holds events, the sink is "spooling" and new events
 * are appended behind them. Poll moves spooled events into librdkafka's
 * queue while the queue is below half its bound (the broker is taking
 * messages), at most SINK_REPLAY_BATCH per call; once the spool is empty,
 * events go straight to the queue again. An event that fails delivery after
 * it was queued is spooled again behind newer ones: order is kept except for
 * such retries.
 */
#include "kafka_sink.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#include "spool.h"

#define KAFKA_POLL_EVERY 64      /* writes between two non-blocking polls */
#define KAFKA_REPLAY_BATCH 10000 /* spooled events moved per poll at most */
#define KAFKA_PURGE_WAIT_MS 2000 /* time for purged messages to come back */
#define KAFKA_TOPIC_MAX 256

typedef struct kafka_sink {
    rd_kafka_t *rk;
    rd_kafka_topic_t *topics[SINK_TOPIC_COUNT];
    spool *spool;
    int spooling;      /* new events go behind the spooled ones */
    int fatal;         /* the producer failed for good: everything is spooled */
    int64_t queue_low; /* replay while fewer messages than this are queued */
    uint32_t since_poll;
    uint64_t written;
    uint64_t delivered;
    uint64_t delivery_failed;
    uint64_t spooled;
    uint64_t replayed;
    uint64_t dropped;
    char error[1024];
} kafka_sink;

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static as_status to_spool(kafka_sink *k, sink_topic topic, const char *key, size_t key_len,
                          const char *value, size_t value_len) {
    if (!k->spool) {
        k->dropped++;
        if (!k->error[0])
            snprintf(k->error, sizeof k->error,
                     "kafka: broker not taking events and no spool: events dropped");
        return AS_ERR_IO;
    }
    as_status st =
        spool_append(k->spool, (uint32_t)topic, key, (uint32_t)key_len, value, (uint32_t)value_len);
    if (st != AS_OK) {
        k->dropped++;
        snprintf(k->error, sizeof k->error, "kafka: %s", spool_error(k->spool));
        return AS_ERR_IO;
    }
    k->spooled++;
    k->spooling = 1;
    return AS_OK;
}

static rd_kafka_resp_err_t produce(kafka_sink *k, sink_topic topic, const char *key, size_t key_len,
                                   const char *value, size_t value_len) {
    return rd_kafka_producev(
        k->rk, RD_KAFKA_V_RKT(k->topics[topic]), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_KEY(key, key ? key_len : 0), RD_KAFKA_V_VALUE((void *)value, value_len),
        RD_KAFKA_V_OPAQUE((void *)(uintptr_t)topic), RD_KAFKA_V_END);
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque) {
    (void)rk;
    kafka_sink *k = opaque;
    if (!msg->err) {
        k->delivered++;
        return;
    }
    k->delivery_failed++;
    uintptr_t topic = (uintptr_t)msg->_private;
    if (topic >= SINK_TOPIC_COUNT)
        topic = SINK_STATS;
    if (msg->err != RD_KAFKA_RESP_ERR__PURGE_QUEUE && msg->err != RD_KAFKA_RESP_ERR__PURGE_INFLIGHT)
        snprintf(k->error, sizeof k->error, "kafka: delivery failed: %s",
                 rd_kafka_err2str(msg->err));
    to_spool(k, (sink_topic)topic, msg->key, msg->key_len, msg->payload, msg->len);
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
    kafka_sink *k = opaque;
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char fatal[256];
        rd_kafka_fatal_error(rk, fatal, sizeof fatal);
        k->fatal = 1;
        snprintf(k->error, sizeof k->error, "kafka: producer failed, spooling all events: %s",
                 fatal);
        return;
    }
    const char *what = "";
    if (err == RD_KAFKA_RESP_ERR__RESOLVE)
        what = "cannot resolve the broker name: ";
    else if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
        what = "no broker reachable: ";
    else if (err == RD_KAFKA_RESP_ERR__TRANSPORT)
        what = "broker connection failed: ";
    snprintf(k->error, sizeof k->error, "kafka: %s%s", what, reason);
}

/* librdkafka logs from its own threads; the sink prints nothing (errors
 * arrive through on_error). */
static void on_log(const rd_kafka_t *rk, int level, const char *facility, const char *text) {
    (void)rk;
    (void)level;
    (void)facility;
    (void)text;
}

static void replay(kafka_sink *k) {
    if (!k->spool || k->fatal || !k->spooling)
        return;
    for (int n = 0; n < KAFKA_REPLAY_BATCH && rd_kafka_outq_len(k->rk) < k->queue_low; n++) {
        spool_record rec;
        as_status st = spool_peek(k->spool, &rec);
        if (st == AS_DONE) {
            k->spooling = 0;
            return;
        }
        if (st != AS_OK) {
            snprintf(k->error, sizeof k->error, "kafka: %s", spool_error(k->spool));
            return;
        }
        sink_topic topic = rec.topic < SINK_TOPIC_COUNT ? (sink_topic)rec.topic : SINK_STATS;
        if (produce(k, topic, rec.key, rec.key_len, rec.value, rec.value_len))
            return; /* queue full again: later */
        spool_pop(k->spool);
        k->replayed++;
    }
    if (spool_records(k->spool) == 0)
        k->spooling = 0;
}

static void kafka_poll(void *impl) {
    kafka_sink *k = impl;
    k->since_poll = 0;
    rd_kafka_poll(k->rk, 0);
    replay(k);
}

static as_status kafka_write(void *impl, sink_topic topic, const char *key, size_t key_len,
                             const char *value, size_t value_len) {
    kafka_sink *k = impl;
    k->written++;
    if ((unsigned)topic >= SINK_TOPIC_COUNT)
        return AS_ERR_ARG;
    if (++k->since_poll >= KAFKA_POLL_EVERY)
        kafka_poll(k);
    if (k->spooling || k->fatal)
        return to_spool(k, topic, key, key_len, value, value_len);
    rd_kafka_resp_err_t err = produce(k, topic, key, key_len, value, value_len);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
        return AS_OK;
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
        snprintf(k->error, sizeof k->error, "kafka: produce failed: %s", rd_kafka_err2str(err));
    return to_spool(k, topic, key, key_len, value, value_len);
}

/* Takes everything out of librdkafka's queue into the spool. */
static void purge_to_spool(kafka_sink *k) {
    rd_kafka_purge(k->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    double deadline = now_ms() + KAFKA_PURGE_WAIT_MS;
    while (rd_kafka_outq_len(k->rk) > 0 && now_ms() < deadline)
        rd_kafka_poll(k->rk, 50);
}

static as_status kafka_flush(void *impl, int timeout_ms) {
    kafka_sink *k = impl;
    double deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    for (;;) {
        rd_kafka_poll(k->rk, 0);
        replay(k);
        int left = rd_kafka_outq_len(k->rk);
        if (left == 0 && (!k->spool || spool_records(k->spool) == 0))
            break;
        double remaining = deadline - now_ms();
        if (remaining <= 0)
            break;
        rd_kafka_poll(k->rk, remaining < 50 ? (int)remaining + 1 : 50);
    }
    if (rd_kafka_outq_len(k->rk) > 0)
        purge_to_spool(k);
    if (k->spool)
        spool_sync(k->spool);
    return rd_kafka_outq_len(k->rk) == 0 ? AS_OK : AS_ERR_IO;
}

static void kafka_stats(const void *impl, sink_stats *add) {
    const kafka_sink *k = impl;
    add->written += k->written;
    add->delivered += k->delivered;
    add->delivery_failed += k->delivery_failed;
    add->spooled += k->spooled;
    add->replayed += k->replayed;
    add->dropped += k->dropped;
    add->queue_depth += (uint64_t)rd_kafka_outq_len((rd_kafka_t *)k->rk);
    if (k->spool) {
        add->spool_records += spool_records(k->spool);
        add->spool_bytes += spool_bytes(k->spool);
    }
}

static const char *kafka_error(const void *impl) {
    return ((const kafka_sink *)impl)->error;
}

static void kafka_destroy(void *impl) {
    kafka_sink *k = impl;
    if (k->rk) {
        if (rd_kafka_outq_len(k->rk) > 0)
            purge_to_spool(k);
        for (int i = 0; i < SINK_TOPIC_COUNT; i++)
            if (k->topics[i])
                rd_kafka_topic_destroy(k->topics[i]);
        rd_kafka_destroy(k->rk);
    }
    spool_close(k->spool);
    free(k);
}

static const sink_ops kafka_ops = {kafka_write, kafka_poll,  kafka_flush,
                                   kafka_stats, kafka_error, kafka_destroy};

static int set(rd_kafka_conf_t *conf, const char *key, const char *value, char *err,
               size_t errlen) {
    char why[256];
    if (rd_kafka_conf_set(conf, key, value, why, sizeof why) == RD_KAFKA_CONF_OK)
        return 1;
    snprintf(err, errlen, "kafka setting %s=%s: %s", key, value, why);
    return 0;
}

static rd_kafka_conf_t *make_conf(const kafka_sink_config *c, kafka_sink *k, char *err,
                                  size_t errlen) {
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char messages[32], kbytes[32];
    snprintf(messages, sizeof messages, "%lld", (long long)c->queue_messages);
    snprintf(kbytes, sizeof kbytes, "%lld", (long long)c->queue_kbytes);
    int ok = set(conf, "bootstrap.servers", c->brokers, err, errlen) &&
             set(conf, "client.id", "apisensor", err, errlen) &&
             set(conf, "enable.idempotence", "true", err, errlen) &&
             set(conf, "compression.codec", c->compression ? c->compression : "lz4", err, errlen) &&
             set(conf, "queue.buffering.max.messages", messages, err, errlen) &&
             set(conf, "queue.buffering.max.kbytes", kbytes, err, errlen) &&
             set(conf, "reconnect.backoff.max.ms", "1000", err, errlen);
    for (int i = 0; ok && i < c->property_count; i++) {
        const char *eq = strchr(c->properties[i], '=');
        char key[128];
        if (!eq || eq == c->properties[i] || (size_t)(eq - c->properties[i]) >= sizeof key) {
            snprintf(err, errlen, "-X takes key=value, got '%s'", c->properties[i]);
            ok = 0;
            break;
        }
        memcpy(key, c->properties[i], (size_t)(eq - c->properties[i]));
        key[eq - c->properties[i]] = '\0';
        ok = set(conf, key, eq + 1, err, errlen);
    }
    if (!ok) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_conf_set_opaque(conf, k);
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_error_cb(conf, on_error);
    rd_kafka_conf_set_log_cb(conf, on_log);
    return conf;
}

as_status kafka_sink_create(const kafka_sink_config *c, char *err, size_t errlen, sink **out) {
    *out = NULL;
    if (!c->brokers || !*c->brokers) {
        snprintf(err, errlen, "--kafka needs a broker list (host:port,...)");
        return AS_ERR_CONFIG;
    }
    kafka_sink *k = calloc(1, sizeof *k);
    if (!k)
        return AS_ERR_NOMEM;
    k->queue_low = c->queue_messages / 2 > 0 ? c->queue_messages / 2 : 1;
    rd_kafka_conf_t *conf = make_conf(c, k, err, errlen);
    if (!conf) {
        free(k);
        return AS_ERR_CONFIG;
    }
    char why[512];
    k->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof why);
    if (!k->rk) {
        rd_kafka_conf_destroy(conf);
        snprintf(err, errlen, "kafka: cannot create the producer: %s", why);
        free(k);
        return AS_ERR_IO;
    }
    const char *prefix = c->topic_prefix && *c->topic_prefix ? c->topic_prefix : "apisensor";
    for (int i = 0; i < SINK_TOPIC_COUNT; i++) {
        char name[KAFKA_TOPIC_MAX];
        snprintf(name, sizeof name, "%s.%s", prefix, sink_topic_name((sink_topic)i));
        k->topics[i] = rd_kafka_topic_new(k->rk, name, NULL);
        if (!k->topics[i]) {
            snprintf(err, errlen, "kafka: topic %s: %s", name,
                     rd_kafka_err2str(rd_kafka_last_error()));
            kafka_destroy(k);
            return AS_ERR_CONFIG;
        }
    }
    if (c->spool_dir) {
        char spool_err[640];
        if (spool_open(c->spool_dir, c->spool_max_bytes, spool_err, sizeof spool_err, &k->spool) !=
            AS_OK)
            snprintf(k->error, sizeof k->error,
                     "kafka: %s; running without a spool: events the broker cannot take now "
                     "are dropped",
                     spool_err);
        else if (spool_records(k->spool) > 0)
            k->spooling = 1; /* events of an earlier run go first */
    }
    return sink_new(&kafka_ops, k, out);
}
