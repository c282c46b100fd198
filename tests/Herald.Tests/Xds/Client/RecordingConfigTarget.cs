using System.Threading.Channels;
using Herald.Xds.Client;

namespace Herald.Tests.Xds.Client;

/// <summary>A data plane that records every set offered to it and accepts or refuses as the test says.</summary>
internal sealed class RecordingConfigTarget : IXdsConfigTarget
{
    private readonly Lock _lock = new();
    private readonly List<XdsResources> _offered = [];
    private readonly List<XdsResources> _accepted = [];
    private readonly Channel<XdsResources> _calls = Channel.CreateUnbounded<XdsResources>();

    /// <summary>Decides each offer; accepts everything unless a test says otherwise.</summary>
    public Func<XdsResources, XdsApplyResult> Decide { get; set; } = _ => XdsApplyResult.Ok;

    public int Offers
    {
        get
        {
            lock (_lock)
            {
                return _offered.Count;
            }
        }
    }

    public IReadOnlyList<XdsResources> Accepted
    {
        get
        {
            lock (_lock)
            {
                return [.. _accepted];
            }
        }
    }

    /// <summary>What the data plane holds now.</summary>
    public XdsResources Current
    {
        get
        {
            lock (_lock)
            {
                return _accepted.Count == 0 ? XdsResources.Empty : _accepted[^1];
            }
        }
    }

    public ValueTask<XdsApplyResult> ApplyAsync(XdsResources resources, CancellationToken cancellationToken)
    {
        var result = Decide(resources);
        lock (_lock)
        {
            _offered.Add(resources);
            if (result.Accepted)
            {
                _accepted.Add(resources);
            }
        }

        _calls.Writer.TryWrite(resources);
        return ValueTask.FromResult(result);
    }

    /// <summary>Waits for the next offer (accepted or refused).</summary>
    public async Task<XdsResources> NextOfferAsync() => await _calls.Reader.ReadAsync().AsTask().WaitAsync(ScriptedAdsServer.Patience);
}
