namespace Herald.Proxy;

/// <summary>Envoy's server states, with the values of its <c>server.state</c> gauge.</summary>
internal enum ServerState
{
    /// <summary>Serving; <c>/ready</c> answers 200.</summary>
    Live = 0,

    /// <summary>Draining, or the health check failed by <c>POST /healthcheck/fail</c>.</summary>
    Draining = 1,

    /// <summary>Waiting for the first configuration.</summary>
    PreInitializing = 2,

    Initializing = 3,
}
