using Herald.Proxy.Observability.Stats;

namespace Herald.Proxy.Http;

/// <summary>Envoy's <c>http.PREFIX.*</c> stats of one HTTP connection manager.</summary>
internal sealed class HttpConnectionManagerStats
{
    private readonly Counter[] _rqByClass = new Counter[6];

    public HttpConnectionManagerStats(StatsStore store, string statPrefix)
    {
        Counter Make(string stat) => store.Counter(StatKey.Http(statPrefix, stat));
        Gauge MakeGauge(string stat) => store.Gauge(StatKey.Http(statPrefix, stat));

        DownstreamCxTotal = Make("downstream_cx_total");
        DownstreamCxActive = MakeGauge("downstream_cx_active");
        DownstreamCxHttp1Total = Make("downstream_cx_http1_total");
        DownstreamCxHttp2Total = Make("downstream_cx_http2_total");
        DownstreamCxProtocolError = Make("downstream_cx_protocol_error");
        DownstreamCxDrainClose = Make("downstream_cx_drain_close");
        DownstreamRqTotal = Make("downstream_rq_total");
        DownstreamRqActive = MakeGauge("downstream_rq_active");
        DownstreamRqHttp1Total = Make("downstream_rq_http1_total");
        DownstreamRqHttp2Total = Make("downstream_rq_http2_total");
        DownstreamRqRxReset = Make("downstream_rq_rx_reset");
        DownstreamRqTxReset = Make("downstream_rq_tx_reset");
        DownstreamRqWsOnNonWsRoute = Make("downstream_rq_ws_on_non_ws_route");
        DownstreamRqIdleTimeout = Make("downstream_rq_idle_timeout");
        DownstreamCxIdleTimeout = Make("downstream_cx_idle_timeout");
        DownstreamRqMaxDurationReached = Make("downstream_rq_max_duration_reached");
        DownstreamRqTime = store.Histogram(StatKey.Http(statPrefix, "downstream_rq_time"));
        NoRoute = Make("no_route");
        NoCluster = Make("no_cluster");
        RqRedirect = Make("rq_redirect");
        RqDirectResponse = Make("rq_direct_response");
        var scope = StatKey.Http(statPrefix, "downstream_rq");
        for (var codeClass = 1; codeClass <= 5; codeClass++)
        {
            _rqByClass[codeClass] = store.Counter(StatKey.CodeClass(scope, "downstream_rq", codeClass));
        }
    }

    public Counter DownstreamCxTotal { get; }

    public Gauge DownstreamCxActive { get; }

    public Counter DownstreamCxHttp1Total { get; }

    public Counter DownstreamCxHttp2Total { get; }

    public Counter DownstreamCxProtocolError { get; }

    /// <summary>Connections closed because of a drain (HTTP/1.1 <c>Connection: close</c>, HTTP/2 GOAWAY).</summary>
    public Counter DownstreamCxDrainClose { get; }

    public Counter DownstreamRqTotal { get; }

    public Gauge DownstreamRqActive { get; }

    public Counter DownstreamRqHttp1Total { get; }

    public Counter DownstreamRqHttp2Total { get; }

    public Counter DownstreamRqRxReset { get; }

    public Counter DownstreamRqTxReset { get; }

    public Counter DownstreamRqWsOnNonWsRoute { get; }

    /// <summary>Streams ended by stream_idle_timeout or a route's idle_timeout.</summary>
    public Counter DownstreamRqIdleTimeout { get; }

    /// <summary>Connections closed after idle_timeout with no request in progress.</summary>
    public Counter DownstreamCxIdleTimeout { get; }

    /// <summary>Streams ended by max_stream_duration (or a capped grpc-timeout).</summary>
    public Counter DownstreamRqMaxDurationReached { get; }

    public Histogram DownstreamRqTime { get; }

    public Counter NoRoute { get; }

    public Counter NoCluster { get; }

    public Counter RqRedirect { get; }

    public Counter RqDirectResponse { get; }

    public void RecordResponseCode(int statusCode)
    {
        var codeClass = statusCode / 100;
        if (codeClass is >= 1 and <= 5)
        {
            _rqByClass[codeClass].Increment();
        }
    }
}
