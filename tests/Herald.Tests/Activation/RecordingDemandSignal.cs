using System.Collections.Concurrent;
using Herald.Proxy.Activation;

namespace Herald.Tests.Activation;

/// <summary>An <see cref="IDemandSignal"/> that keeps every notice, in order.</summary>
internal sealed class RecordingDemandSignal : IDemandSignal
{
    private readonly ConcurrentQueue<DemandNotice> _notices = new();

    public IReadOnlyList<DemandNotice> Notices => _notices.ToArray();

    public int Count => _notices.Count;

    public void Signal(DemandNotice notice) => _notices.Enqueue(notice);
}
