namespace Herald.Proxy.Http.Routing;

/// <summary>Envoy's HeaderValueOption.HeaderAppendAction, in its order.</summary>
internal enum HeaderAppendAction
{
    AppendIfExistsOrAdd,
    AddIfAbsent,
    OverwriteIfExistsOrAdd,
    OverwriteIfExists,
}
