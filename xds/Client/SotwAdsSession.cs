using Envoy.Config.Core.V3;
using Envoy.Service.Discovery.V3;
using Herald.Xds.Streams;

namespace Herald.Xds.Client;

/// <summary>State-of-the-world ADS: every request carries the full name list and the accepted version.</summary>
internal sealed class SotwAdsSession(
    IMessageStream<DiscoveryResponse, DiscoveryRequest> stream, AdsStateMachine state, Node node, TimeProvider time, Action publishStatus)
    : AdsSession(state, node, time, publishStatus)
{
    private readonly Dictionary<string, string> _nonces = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<string>> _sentNames = new(StringComparer.Ordinal);

    public override async ValueTask<object?> ReadAsync(CancellationToken cancellationToken) =>
        await stream.ReadAsync(cancellationToken);

    public override async Task SendInitialRequestsAsync(CancellationToken cancellationToken)
    {
        foreach (var type in State.AllTypes)
        {
            if (type.Wildcard || type.Subscribed.Count > 0)
            {
                await SendAsync(type, type.Version, null, cancellationToken);
            }
        }
    }

    public override async Task HandleResponseAsync(object message, CancellationToken cancellationToken)
    {
        var response = (DiscoveryResponse)message;
        if (!IsFreshNonce(response.Nonce))
        {
            return;
        }

        var type = State.Find(response.TypeUrl);
        if (type is null)
        {
            await stream.WriteAsync(
                new DiscoveryRequest
                {
                    TypeUrl = response.TypeUrl,
                    ResponseNonce = response.Nonce,
                    ErrorDetail = ErrorDetail($"resource type '{response.TypeUrl}' was not requested"),
                },
                cancellationToken);
            return;
        }

        _nonces[type.TypeUrl] = response.Nonce;
        type.LastNonce = response.Nonce;

        string? error;
        Dictionary<string, AdsEntry>? accepted = null;
        try
        {
            accepted = Decode(type, response);
            error = null;
        }
        catch (InvalidDataException e)
        {
            error = e.Message;
        }

        if (accepted is not null)
        {
            var outcome = await State.AcceptAsync(type, accepted, response.VersionInfo, cancellationToken);
            error = outcome.Error;
            foreach (var late in outcome.LateNacks)
            {
                await SendLateNackAsync(late, cancellationToken);
            }
        }

        if (error is null)
        {
            DeliveredAcceptedConfig = true;
            PublishStatus();
            await SendAsync(type, response.VersionInfo, null, cancellationToken);
        }
        else
        {
            RecordNack(type, response.VersionInfo, error);
            PublishStatus();
            await SendAsync(type, type.Version, error, cancellationToken);
        }

        await SendSubscriptionChangesAsync(cancellationToken);
    }

    public override async Task SendSubscriptionChangesAsync(CancellationToken cancellationToken)
    {
        foreach (var type in State.AllTypes)
        {
            if (type.Wildcard)
            {
                continue;
            }

            var sent = _sentNames.TryGetValue(type.TypeUrl, out var names) ? names : null;
            if (sent is null ? type.Subscribed.Count > 0 : !SameNames(sent, type.Subscribed))
            {
                await SendAsync(type, type.Version, null, cancellationToken);
            }
        }
    }

    public override Task SendLateNackAsync(AdsLateNack nack, CancellationToken cancellationToken) =>
        _nonces.ContainsKey(nack.Type.TypeUrl) ? SendAsync(nack.Type, nack.Type.Version, nack.Message, cancellationToken) : Task.CompletedTask;

    public override ValueTask DisposeAsync() => stream.DisposeAsync();

    private async Task SendAsync(AdsTypeState type, string version, string? error, CancellationToken cancellationToken)
    {
        var request = new DiscoveryRequest
        {
            TypeUrl = type.TypeUrl,
            VersionInfo = version,
            ResponseNonce = _nonces.TryGetValue(type.TypeUrl, out var nonce) ? nonce : "",
            Node = TakeNode(),
        };

        // Wildcard types send no names (the form every server understands).
        if (!type.Wildcard)
        {
            var names = new List<string>(type.Subscribed);
            names.Sort(StringComparer.Ordinal);
            request.ResourceNames.AddRange(names);
            _sentNames[type.TypeUrl] = new HashSet<string>(type.Subscribed, StringComparer.Ordinal);
        }

        if (error is not null)
        {
            request.ErrorDetail = ErrorDetail(error);
        }

        await stream.WriteAsync(request, cancellationToken);
    }

    /// <summary>
    /// The type's next accepted set: LDS and CDS responses are the whole set; RDS and EDS
    /// responses are merged into what is held, and names not requested are ignored.
    /// </summary>
    private static Dictionary<string, AdsEntry> Decode(AdsTypeState type, DiscoveryResponse response)
    {
        var decoded = new Dictionary<string, AdsEntry>(StringComparer.Ordinal);
        foreach (var any in response.Resources)
        {
            var entry = XdsResourceCodec.Decode(type.TypeUrl, any, response.VersionInfo, null);
            if (!decoded.TryAdd(entry.Name, entry))
            {
                throw new InvalidDataException($"resource '{entry.Name}' appears twice in one response");
            }
        }

        if (type.Wildcard)
        {
            return decoded;
        }

        var merged = new Dictionary<string, AdsEntry>(type.Accepted, StringComparer.Ordinal);
        foreach (var (name, entry) in decoded)
        {
            if (type.Subscribed.Contains(name))
            {
                merged[name] = entry;
            }
        }

        return merged;
    }
}
