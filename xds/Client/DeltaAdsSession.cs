using Envoy.Config.Core.V3;
using Envoy.Service.Discovery.V3;
using Herald.Xds.Streams;

namespace Herald.Xds.Client;

/// <summary>
/// Delta ADS: requests carry subscription changes; responses carry changed and removed
/// resources with a version each; ACK and NACK answer a response nonce.
/// </summary>
internal sealed class DeltaAdsSession(
    IMessageStream<DeltaDiscoveryResponse, DeltaDiscoveryRequest> stream, AdsStateMachine state, Node node, TimeProvider time, Action publishStatus)
    : AdsSession(state, node, time, publishStatus)
{
    private const string Wildcard = "*";
    private readonly Dictionary<string, string> _nonces = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<string>> _sentNames = new(StringComparer.Ordinal);

    public override async ValueTask<object?> ReadAsync(CancellationToken cancellationToken) =>
        await stream.ReadAsync(cancellationToken);

    public override async Task SendInitialRequestsAsync(CancellationToken cancellationToken)
    {
        foreach (var type in State.AllTypes)
        {
            if (!type.Wildcard && type.Subscribed.Count == 0)
            {
                continue;
            }

            var request = NewRequest(type);
            if (type.Wildcard)
            {
                request.ResourceNamesSubscribe.Add(Wildcard);
            }
            else
            {
                request.ResourceNamesSubscribe.AddRange(Sorted(type.Subscribed));
                _sentNames[type.TypeUrl] = new HashSet<string>(type.Subscribed, StringComparer.Ordinal);
            }

            // What this client already holds, so a server need not resend it.
            foreach (var entry in type.Accepted.Values)
            {
                request.InitialResourceVersions[entry.Name] = entry.Version;
            }

            await stream.WriteAsync(request, cancellationToken);
        }
    }

    public override async Task HandleResponseAsync(object message, CancellationToken cancellationToken)
    {
        var response = (DeltaDiscoveryResponse)message;
        if (!IsFreshNonce(response.Nonce))
        {
            return;
        }

        var type = State.Find(response.TypeUrl);
        if (type is null)
        {
            await stream.WriteAsync(
                new DeltaDiscoveryRequest
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
        List<string> removed = [];
        try
        {
            accepted = Decode(type, response, removed);
            error = null;
        }
        catch (InvalidDataException e)
        {
            error = e.Message;
        }

        if (accepted is not null)
        {
            // Marked first, so parents of a removed resource do not wait for it; harmless if refused.
            AdsStateMachine.MarkRemoved(type, removed);
            var outcome = await State.AcceptAsync(type, accepted, response.SystemVersionInfo, cancellationToken);
            error = outcome.Error;

            foreach (var late in outcome.LateNacks)
            {
                await SendLateNackAsync(late, cancellationToken);
            }
        }

        var answer = NewRequest(type);
        answer.ResponseNonce = response.Nonce;
        if (error is null)
        {
            DeliveredAcceptedConfig = true;
        }
        else
        {
            RecordNack(type, response.SystemVersionInfo, error);
            answer.ErrorDetail = ErrorDetail(error);
        }

        PublishStatus();
        await stream.WriteAsync(answer, cancellationToken);
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

            var sent = _sentNames.TryGetValue(type.TypeUrl, out var names) ? names : new HashSet<string>(StringComparer.Ordinal);
            if (SameNames(sent, type.Subscribed))
            {
                continue;
            }

            var request = NewRequest(type);
            foreach (var name in Sorted(type.Subscribed))
            {
                if (!sent.Contains(name))
                {
                    request.ResourceNamesSubscribe.Add(name);
                }
            }

            foreach (var name in Sorted(sent))
            {
                if (!type.Subscribed.Contains(name))
                {
                    request.ResourceNamesUnsubscribe.Add(name);
                }
            }

            _sentNames[type.TypeUrl] = new HashSet<string>(type.Subscribed, StringComparer.Ordinal);
            await stream.WriteAsync(request, cancellationToken);
        }
    }

    public override async Task SendLateNackAsync(AdsLateNack nack, CancellationToken cancellationToken)
    {
        if (_nonces.TryGetValue(nack.Type.TypeUrl, out var nonce))
        {
            var request = NewRequest(nack.Type);
            request.ResponseNonce = nonce;
            request.ErrorDetail = ErrorDetail(nack.Message);
            await stream.WriteAsync(request, cancellationToken);
        }
    }

    public override ValueTask DisposeAsync() => stream.DisposeAsync();

    private DeltaDiscoveryRequest NewRequest(AdsTypeState type) => new() { TypeUrl = type.TypeUrl, Node = TakeNode() };

    private static List<string> Sorted(IEnumerable<string> names)
    {
        var list = new List<string>(names);
        list.Sort(StringComparer.Ordinal);
        return list;
    }

    /// <summary>The type's next accepted set: what is held, with changes applied and removals dropped.</summary>
    private static Dictionary<string, AdsEntry> Decode(AdsTypeState type, DeltaDiscoveryResponse response, List<string> removed)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var next = new Dictionary<string, AdsEntry>(type.Accepted, StringComparer.Ordinal);
        foreach (var resource in response.Resources)
        {
            if (resource.Resource_ is null)
            {
                // A resource without a body says it does not exist.
                if (string.IsNullOrEmpty(resource.Name))
                {
                    throw new InvalidDataException("a resource has neither a name nor a body");
                }

                if (!seen.Add(resource.Name))
                {
                    throw new InvalidDataException($"resource '{resource.Name}' appears twice in one response");
                }

                next.Remove(resource.Name);
                removed.Add(resource.Name);
                continue;
            }

            var entry = XdsResourceCodec.Decode(type.TypeUrl, resource.Resource_, resource.Version, resource.Name);
            if (!seen.Add(entry.Name))
            {
                throw new InvalidDataException($"resource '{entry.Name}' appears twice in one response");
            }

            if (type.Wildcard || type.Subscribed.Contains(entry.Name))
            {
                next[entry.Name] = entry;
            }
        }

        foreach (var name in response.RemovedResources)
        {
            if (!seen.Add(name))
            {
                throw new InvalidDataException($"resource '{name}' is both updated and removed, or removed twice, in one response");
            }

            next.Remove(name);
            removed.Add(name);
        }

        return next;
    }
}
