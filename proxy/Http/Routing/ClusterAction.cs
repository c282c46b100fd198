namespace Herald.Proxy.Http.Routing;

/// <summary>A route that forwards to one cluster or to weighted clusters.</summary>
internal sealed class ClusterAction : RouteAction
{
    /// <summary>Envoy's default route timeout.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(15);

    private readonly PathRewriter? _pathRewriter;
    private readonly HashPolicy[] _hashPolicies;
    private readonly uint[] _cumulativeWeights;
    private readonly uint _totalWeight;

    public ClusterAction(
        string? clusterName,
        IReadOnlyList<WeightedCluster> weightedClusters,
        TimeSpan timeout,
        string? hostRewriteLiteral,
        bool autoHostRewrite,
        PathRewriter? pathRewriter,
        HashPolicy[] hashPolicies,
        bool allowWebSocketUpgrade)
    {
        if (clusterName is null == (weightedClusters.Count == 0))
        {
            throw new ArgumentException("Exactly one of a cluster name and weighted clusters is required.", nameof(clusterName));
        }

        ClusterName = clusterName;
        WeightedClusters = weightedClusters;
        Timeout = timeout;
        HostRewriteLiteral = hostRewriteLiteral;
        AutoHostRewrite = autoHostRewrite;
        _pathRewriter = pathRewriter;
        _hashPolicies = hashPolicies;
        AllowWebSocketUpgrade = allowWebSocketUpgrade;

        _cumulativeWeights = new uint[weightedClusters.Count];
        ulong total = 0;
        for (var i = 0; i < weightedClusters.Count; i++)
        {
            total += weightedClusters[i].Weight;
            if (total > uint.MaxValue)
            {
                throw new ArgumentException("The total weight exceeds 2^32-1.", nameof(weightedClusters));
            }

            _cumulativeWeights[i] = (uint)total;
        }

        if (weightedClusters.Count > 0 && total == 0)
        {
            throw new ArgumentException("The total weight is zero.", nameof(weightedClusters));
        }

        _totalWeight = (uint)total;
    }

    /// <summary>Null when the route uses weighted clusters.</summary>
    public string? ClusterName { get; }

    /// <summary>Empty when the route names a single cluster.</summary>
    public IReadOnlyList<WeightedCluster> WeightedClusters { get; }

    /// <summary><see cref="TimeSpan.Zero"/> means no timeout.</summary>
    public TimeSpan Timeout { get; }

    public string? HostRewriteLiteral { get; }

    public bool AutoHostRewrite { get; }

    public bool HasPathRewrite => _pathRewriter is not null;

    public IReadOnlyList<HashPolicy> HashPolicies => _hashPolicies;

    /// <summary>
    /// False when the route's upgrade_configs disable "websocket"; the connection manager's
    /// own upgrade_configs are applied by the caller.
    /// </summary>
    public bool AllowWebSocketUpgrade { get; }

    /// <summary>The route's retry_policy; null when the route never retries (the fast path).</summary>
    public Retry.RetryPolicy? RetryPolicy { get; init; }

    /// <summary>The route's idle_timeout and max_stream_duration; null when it sets neither.</summary>
    public RouteStreamTimeouts? StreamTimeouts { get; init; }

    /// <summary>The cluster for this request; <paramref name="random"/> picks among weighted clusters.</summary>
    public string PickCluster(uint random)
    {
        if (ClusterName is not null)
        {
            return ClusterName;
        }

        var point = random % _totalWeight;
        for (var i = 0; i < _cumulativeWeights.Length; i++)
        {
            if (point < _cumulativeWeights[i])
            {
                return WeightedClusters[i].Name;
            }
        }

        return WeightedClusters[^1].Name;
    }

    /// <summary>
    /// Applies prefix_rewrite or regex_rewrite to the request's path; the query is kept.
    /// False (and an empty array) when the route rewrites nothing.
    /// </summary>
    public bool TryRewritePath(IRequestHead request, out byte[] rewrittenPathAndQuery)
    {
        if (_pathRewriter is null)
        {
            rewrittenPathAndQuery = [];
            return false;
        }

        rewrittenPathAndQuery = _pathRewriter.Rewrite(request.Path, "?"u8, request.Query);
        return true;
    }

    /// <summary>
    /// Envoy's combination of the route's hash policies: each value rotates the previous hash
    /// left by one and is XORed in; a terminal policy that produced a value ends the walk.
    /// </summary>
    public ulong? ComputeHash(IRequestHead request)
    {
        ulong? hash = null;
        foreach (var policy in _hashPolicies)
        {
            var value = policy.Evaluate(request);
            if (value is { } next)
            {
                var previous = hash is { } h ? (h << 1) | (h >> 63) : 0UL;
                hash = previous ^ next;
            }

            if (policy.Terminal && hash is not null)
            {
                break;
            }
        }

        return hash;
    }
}
