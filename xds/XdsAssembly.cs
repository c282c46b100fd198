namespace Herald.Xds;

/// <summary>Marker for the assembly that carries the generated Envoy messages.</summary>
public static class XdsAssembly
{
    public const string EnvoyProtoPackage = "@grpc/grpc-js-xds@1.14.1";
}
