"""The CRI API (Kubernetes' runtime.v1) for tests/vm's suites: its message classes are
built at run time from the definitions compiled into Debian's containerd (gogo-protobuf
registers each .proto as a gzipped FileDescriptorProto in the binary): no Debian package
ships k8s.io/cri-api's .proto files, and none is copied into this repository. Needs
python3-protobuf and python3-grpcio."""

import re
import zlib

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

# a gzip header as Go writes it: deflate, no flags, no time stamp
GZIP = re.compile(rb"\x1f\x8b\x08\x00\x00\x00\x00\x00")


def file_descriptors(binary):
    data = open(binary, "rb").read()
    for m in GZIP.finditer(data):
        try:
            raw = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data[m.start():m.start() + (4 << 20)])
            fd = descriptor_pb2.FileDescriptorProto.FromString(raw)
        except Exception:  # not a descriptor: the binary has other gzip data
            continue
        if fd.name:
            yield fd


class CRI:
    """Message classes of package runtime.v1 by name: cri.msg("RunPodSandboxRequest")."""

    def __init__(self, binary="/usr/bin/containerd"):
        fd = next((f for f in file_descriptors(binary) if f.package == "runtime.v1"), None)
        if fd is None:
            raise RuntimeError(f"no runtime.v1 CRI definitions in {binary}")
        # its one import, gogoproto, only adds options for Go code generation
        del fd.dependency[:]
        self.pool = descriptor_pool.DescriptorPool()
        self.pool.Add(fd)
        self.factory = message_factory.MessageFactory(self.pool)

    def msg(self, name, **fields):
        cls = self.factory.GetPrototype(self.pool.FindMessageTypeByName("runtime.v1." + name))
        return cls(**fields)

    def cls(self, name):
        return self.factory.GetPrototype(self.pool.FindMessageTypeByName("runtime.v1." + name))

    def enum(self, enum, name):
        return self.pool.FindEnumTypeByName("runtime.v1." + enum).values_by_name[name].number


class CRIError(Exception):
    pass


class RuntimeService:
    """runtime.v1.RuntimeService over a gRPC channel: svc.call("RunPodSandbox", request)."""

    def __init__(self, cri, channel):
        self.cri = cri
        self.channel = channel

    def call(self, method, request, timeout=120):
        desc = self.cri.pool.FindServiceByName("runtime.v1.RuntimeService").methods_by_name[method]
        reply = self.cri.factory.GetPrototype(desc.output_type)
        fn = self.channel.unary_unary(f"/runtime.v1.RuntimeService/{method}",
                                      request_serializer=lambda m: m.SerializeToString(),
                                      response_deserializer=reply.FromString)
        try:
            return fn(request, timeout=timeout)
        except grpc.RpcError as e:
            raise CRIError(f"{method}: {e.code().name}: {e.details()}") from None
