"""Live PLC I/O: tag maps, codecs, Modbus TCP and OPC UA clients and servers, the recorder (the virtual PLC is
simengine.virtual_plc)."""

from simengine.plc.errors import PlcUnreachable
from simengine.plc.plausibility import PlausibilityReport, check_plausibility
from simengine.plc.readings import Quality, QualityAssessor, ReadingBlock, comm_failure
from simengine.plc.tags import DTYPES, REGISTER_WIDTH, Endpoint, ModbusPoint, OpcUaPoint, Tag, TagMap, load_tagmap, tagmap_from_dict

from simengine.plc.secrets import Credentials, Secret, load_credentials

__all__ = ["PlcUnreachable", "PlausibilityReport", "check_plausibility", "Credentials", "Secret", "load_credentials", "Quality", "QualityAssessor", "ReadingBlock", "comm_failure", "DTYPES", "REGISTER_WIDTH", "Endpoint",
           "ModbusPoint", "OpcUaPoint", "Tag", "TagMap", "load_tagmap", "tagmap_from_dict"]
