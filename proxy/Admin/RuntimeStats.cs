using System.Runtime;
using Herald.Proxy.Observability.Stats;

namespace Herald.Proxy.Admin;

/// <summary>
/// Process memory gauges, read when stats are rendered: Envoy's <c>server.memory_allocated</c>
/// and <c>server.memory_heap_size</c> (the managed heap in use and committed), plus
/// <c>runtime.allocated_bytes</c> and <c>runtime.gc_collections</c>, which let the
/// benchmark harness report bytes allocated per request, and
/// <c>runtime.jit_compiled_methods</c> and <c>runtime.jit_time_ms</c>, with which it waits
/// for the JIT's tier-up to settle before it measures.
/// </summary>
internal static class RuntimeStats
{
    public static void Refresh(StatsStore stats)
    {
        var info = GC.GetGCMemoryInfo();
        stats.Gauge(StatKey.Global("server.memory_allocated")).Set(GC.GetTotalMemory(forceFullCollection: false));
        stats.Gauge(StatKey.Global("server.memory_heap_size")).Set(info.TotalCommittedBytes);
        stats.Gauge(StatKey.Global("runtime.allocated_bytes")).Set(GC.GetTotalAllocatedBytes(precise: false));
        stats.Gauge(StatKey.Global("runtime.gc_collections")).Set(GC.CollectionCount(0));
        stats.Gauge(StatKey.Global("runtime.jit_compiled_methods")).Set(JitInfo.GetCompiledMethodCount());
        stats.Gauge(StatKey.Global("runtime.jit_time_ms")).Set((long)JitInfo.GetCompilationTime().TotalMilliseconds);
    }
}
