<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="en" sourcelanguage="en">
<context>
    <name>@default</name>
    <message>
        <location filename="../plugin/gui/dock.py" line="48"/>
        <source>Automatic (from the instruction)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="300"/>
        <source>Detect objects</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="321"/>
        <source>Segment</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="336"/>
        <source>Detect changes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="46"/>
        <source>Describe the image</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="370"/>
        <source>Describe regions</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="46"/>
        <source>Answer a question</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="47"/>
        <source>Classify the scene</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="47"/>
        <source>Geolocate</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="54"/>
        <source>Whole layer</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="54"/>
        <source>Current map extent</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="54"/>
        <source>Selected features of</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/run_list.py" line="113"/>
        <source>starting…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/run_list.py" line="195"/>
        <source>Cancel this run</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="237"/>
        <source>{done}/{total} tiles</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="76"/>
        <source>GeoRSMLLM</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="85"/>
        <source>Start / restart backend</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="98"/>
        <source>e.g. segment all buildings north of the river</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="109"/>
        <source>Task</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="291"/>
        <source>Image</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="119"/>
        <source>After image</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="131"/>
        <source>Area</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="373"/>
        <source>Features to describe</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="138"/>
        <source>farmland, forest, city (optional)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="139"/>
        <source>Classes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="144"/>
        <source>Vector layers the instruction may name (&quot;within 200 m of roads&quot;)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="145"/>
        <source>Context layers</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="164"/>
        <source>Show plan</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="166"/>
        <source>Run</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="139"/>
        <source>Cancel</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/run_list.py" line="221"/>
        <source>Runs</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="185"/>
        <source>Captions, answers and messages appear here.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/prepare.py" line="326"/>
        <source>Write an instruction first.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="233"/>
        <source>Add a raster layer to the project and choose it.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="245"/>
        <source>There is no map canvas to take the extent from.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="271"/>
        <source>Asking the backend for a plan…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="291"/>
        <source>Before image</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="319"/>
        <source>No plan: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/results.py" line="45"/>
        <source>Task: {task} ({reason})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/plan_view.py" line="47"/>
        <source>Dialect: {dialect}; parser: {parser}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/plan_view.py" line="20"/>
        <source>model step</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="339"/>
        <source>starting the backend…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="339"/>
        <source>uploading…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="339"/>
        <source>submitting…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="339"/>
        <source>running…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/layer_actions.py" line="37"/>
        <source>Ask GeoRSMLLM…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/layer_actions.py" line="37"/>
        <source>Detect objects…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/layer_actions.py" line="37"/>
        <source>Segment…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/layer_actions.py" line="37"/>
        <source>Describe this image</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/layer_actions.py" line="37"/>
        <source>Detect changes against…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/layer_actions.py" line="44"/>
        <source>Describe these features</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="75"/>
        <source>Backend</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="80"/>
        <source>Python interpreter</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="82"/>
        <source>empty: start a local backend</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="83"/>
        <source>Server URL</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="86"/>
        <source>Server token</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="91"/>
        <source>Start-up timeout</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="94"/>
        <source>More backend options</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="113"/>
        <source>Model</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="110"/>
        <source>Engine</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="112"/>
        <source>model folder or hub id (empty: the backend&apos;s default)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="118"/>
        <source>(the model family&apos;s own)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="119"/>
        <source>Dialect</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="121"/>
        <source>empty: rule-based; &apos;same&apos;: the main model</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="122"/>
        <source>Condition parser model</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="124"/>
        <source>Segmenter</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="127"/>
        <source>SAM2 checkpoint</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="132"/>
        <source>Device</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="135"/>
        <source>Tiling</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="140"/>
        <source>Tile size (px)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="144"/>
        <source>Overlap (px)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="149"/>
        <source>native</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="150"/>
        <source>Target GSD (map units/px)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="154"/>
        <source>Tiles in flight</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="158"/>
        <source>Results folder</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/live_layer.py" line="46"/>
        <source>{title} (running)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/prepare.py" line="124"/>
        <source>The layer {name} could not be exported for the backend: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/prepare.py" line="152"/>
        <source>The layer {name} has no features to describe.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/prepare.py" line="177"/>
        <source>No map extent was given.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/prepare.py" line="183"/>
        <source>Choose a polygon layer whose selected features give the area.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/prepare.py" line="185"/>
        <source>Select features in {name} first.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/prepare.py" line="188"/>
        <source>Unknown area {area}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/prepare.py" line="192"/>
        <source>The chosen area does not overlap the raster {name}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/prepare.py" line="199"/>
        <source>Choose a valid raster layer for {what}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/prepare.py" line="289"/>
        <source>the image</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/prepare.py" line="290"/>
        <source>the &apos;after&apos; image</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/prepare.py" line="329"/>
        <source>Change detection needs a second (&apos;after&apos;) raster layer.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/prepare.py" line="303"/>
        <source>The layer of features to describe is missing.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/raster_source.py" line="79"/>
        <source>The layer {name} could not be rendered for upload.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/raster_source.py" line="106"/>
        <source>The raster layer is missing or invalid.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/raster_source.py" line="120"/>
        <source>The area to send lies outside the layer {name}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/results.py" line="59"/>
        <source>Partial result: the run was cancelled.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/tasks.py" line="41"/>
        <source>GeoRSMLLM: connecting to the backend</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/env_tasks.py" line="193"/>
        <source>not checked</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/tasks.py" line="77"/>
        <source>GeoRSMLLM: planning</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/tasks.py" line="114"/>
        <source>GeoRSMLLM: {title}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/main.py" line="90"/>
        <source>GeoRSMLLM panel</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/main.py" line="91"/>
        <source>Settings…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/main.py" line="93"/>
        <source>About GeoRSMLLM</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/main.py" line="311"/>
        <source>No visible raster layer lies under {name}: add the image to describe.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/main.py" line="343"/>
        <source>GeoRSMLLM {version}
Natural-language instructions on raster layers.
Issues: {tracker}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="124"/>
        <source>Vision-language tasks</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="137"/>
        <source>Instruction</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="146"/>
        <source>Raster layer</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="151"/>
        <source>Area of interest (whole layer when empty)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="154"/>
        <source>Context vector layers the instruction may name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="160"/>
        <source>Tile size (pixels sent to the model)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="162"/>
        <source>Tile overlap (pixels)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="164"/>
        <source>Target ground sample distance (map units per pixel, 0: native)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="170"/>
        <source>Result layer</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="172"/>
        <source>Text answer</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="173"/>
        <source>Run id</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="174"/>
        <source>GeoPackage with every layer of the run</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="175"/>
        <source>Number of features</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="199"/>
        <source>The input raster layer is missing or invalid.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="203"/>
        <source>The instruction is empty: say what to look for.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="209"/>
        <source>The area of interest does not overlap the raster.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="348"/>
        <source>Change detection needs a valid second (&apos;after&apos;) raster.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="232"/>
        <source>The algorithm was not prepared.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="245"/>
        <source>Connecting to the GeoRSMLLM backend (a local one is started if needed)…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="252"/>
        <source>GeoRSMLLM backend: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="257"/>
        <source>Cancelled: the output holds what was done before the cancel.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="309"/>
        <source>Objects to detect (e.g. &apos;planes&apos;, &apos;storage tanks near the harbour&apos;)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="324"/>
        <source>What to segment (e.g. &apos;buildings north of the river&apos;)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="327"/>
        <source>Outlines the things the instruction names as polygons (the model points at them, SAM2 draws the masks).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="339"/>
        <source>Changes to find (e.g. &apos;new buildings&apos;)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="342"/>
        <source>&apos;After&apos; raster layer</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="353"/>
        <source>Compares the raster (before) with the &apos;after&apos; raster and writes the changed areas as polygons.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="360"/>
        <source>Describe image</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="363"/>
        <source>Writes a description of the image (the ANSWER output), and the described area as a polygon.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="379"/>
        <source>The features to describe are missing.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="384"/>
        <source>Describes each feature&apos;s area of the raster; the answers are in the result layer&apos;s attributes and the ANSWER output.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="392"/>
        <source>Ask a question</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="395"/>
        <source>Question about the image</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="398"/>
        <source>Answers a question about the image (the ANSWER output).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="405"/>
        <source>Classify scene</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="418"/>
        <source>Classifies each tile of the raster; the class is the label of the tile polygons.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="426"/>
        <source>Geolocate image</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="429"/>
        <source>Asks the model where the image was taken and writes its guess as a point.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/run_list.py" line="208"/>
        <source>cancelled</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/run_list.py" line="209"/>
        <source>failed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/wording.py" line="100"/>
        <source>nothing found</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/runs.py" line="201"/>
        <source>{title}: {summary}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/results.py" line="44"/>
        <source>Instruction: {text}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/results.py" line="47"/>
        <source>Model: {model} [{engine}, {device}]</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/results.py" line="50"/>
        <source>Dialect: {dialect}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/results.py" line="51"/>
        <source>Raster: {name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/results.py" line="52"/>
        <source>Tiles: {done}/{total}; tile size {size}, overlap {overlap}, GSD {gsd}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/results.py" line="55"/>
        <source>Time: {seconds} s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/results.py" line="56"/>
        <source>Run id: {run_id}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/backend_env_dialog.py" line="53"/>
        <source>GeoRSMLLM: set up the backend</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/backend_env_dialog.py" line="61"/>
        <source>The backend runs in its own Python environment (not QGIS&apos;s Python): PyTorch, transformers and the server are installed there. A failed or cancelled set-up resumes where it stopped.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/backend_env_dialog.py" line="70"/>
        <source>Environment folder</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/backend_env_dialog.py" line="75"/>
        <source>PyTorch device</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/backend_env_dialog.py" line="77"/>
        <source>Press Set up to see the plan before anything is installed.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/backend_env_dialog.py" line="95"/>
        <source>Set up</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="137"/>
        <source>Check</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/backend_env_dialog.py" line="97"/>
        <source>Repair</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="140"/>
        <source>Close</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/backend_env_dialog.py" line="120"/>
        <source>Set up the backend</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/backend_env_dialog.py" line="120"/>
        <source>Install now?</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="238"/>
        <source>Cancelling…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/backend_env_dialog.py" line="166"/>
        <source>Cancelled. Set up again to resume: finished steps are skipped.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="262"/>
        <source>Failed: {error}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/backend_env_dialog.py" line="170"/>
        <source>Fix the cause and press Set up again: finished steps are skipped.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/backend_env_dialog.py" line="182"/>
        <source>Nothing installed.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/backend_env_dialog.py" line="186"/>
        <source>The plugin now runs the backend with {python}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/backend_env_dialog.py" line="191"/>
        <source>The environment is complete.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/backend_env_dialog.py" line="191"/>
        <source>{count} problem(s) found: press Repair.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/backend_tools.py" line="27"/>
        <source>GeoRSMLLM: no backend yet</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="97"/>
        <source>Set up backend…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="97"/>
        <source>Models…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="77"/>
        <source>GeoRSMLLM: models</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="90"/>
        <source>Model cache</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="92"/>
        <source>Model hub</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="94"/>
        <source>Sizes and memory are approximate. Check each licence on the model&apos;s page before use.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="136"/>
        <source>Download</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="138"/>
        <source>Use this model</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="199"/>
        <source>your server</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="199"/>
        <source>your folder</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="201"/>
        <source>downloaded</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="201"/>
        <source>not downloaded</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="212"/>
        <source>Downloading {model}…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="222"/>
        <source>Loading {model} once with {python}…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="253"/>
        <source>Downloaded to {path}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="257"/>
        <source>The model loads: {message}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="259"/>
        <source>Cancelled. Partial files are kept: Download again continues them.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="260"/>
        <source>Check cancelled.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="272"/>
        <source>Model folder (transformers checkpoint)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="275"/>
        <source>Model server</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="275"/>
        <source>OpenAI-compatible model server URL (e.g. http://localhost:8000/v1):</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="291"/>
        <source>Download {model} first: the segmenter needs its checkpoint file.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="300"/>
        <source>The plugin now uses {model} ({location}).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/env_tasks.py" line="82"/>
        <source>not run</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/env_tasks.py" line="95"/>
        <source>GeoRSMLLM: planning the backend set-up</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/env_tasks.py" line="95"/>
        <source>GeoRSMLLM: setting up the backend</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/env_tasks.py" line="96"/>
        <source>GeoRSMLLM: checking the backend</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/env_tasks.py" line="96"/>
        <source>GeoRSMLLM: repairing the backend</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/env_tasks.py" line="124"/>
        <source>cannot write the environment: {error}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/env_tasks.py" line="132"/>
        <source>No PyTorch in this environment&apos;s requirements: no device to verify.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/env_tasks.py" line="134"/>
        <source>PyTorch does not import in the environment: {error}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/env_tasks.py" line="137"/>
        <source>PyTorch {version} runs on the CPU ONLY: no GPU is used and models will run slowly.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/env_tasks.py" line="140"/>
        <source>PyTorch {version} runs on {device}{gpu}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/env_tasks.py" line="189"/>
        <source>GeoRSMLLM: looking for the backend</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/env_tasks.py" line="198"/>
        <source>the Python interpreter {path} does not exist</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/env_tasks.py" line="228"/>
        <source>GeoRSMLLM: looking for downloaded models</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/env_tasks.py" line="255"/>
        <source>GeoRSMLLM: downloading {model}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/env_tasks.py" line="270"/>
        <source>cannot write the model cache: {error}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/env_tasks.py" line="294"/>
        <source>GeoRSMLLM: checking {model}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/env_tasks.py" line="309"/>
        <source>check cancelled</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/env_tasks.py" line="314"/>
        <source>no output</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="98"/>
        <source>Memory</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="98"/>
        <source>Licence</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="98"/>
        <source>Status</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="98"/>
        <source>Dialect / tasks</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/backend_tools.py" line="27"/>
        <source>GeoRSMLLM runs its models in a backend: a Python environment of its own with PyTorch and the model libraries, apart from QGIS's Python. None is ready yet: {reason}.

Set it up now? Before anything is installed you will see what will be installed and about how much will be downloaded. You can also do it later (Raster &gt; GeoRSMLLM &gt; Set up backend…), or enter the URL of a running backend server in the settings.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/status_line.py" line="61"/>
        <source>Local backend: starting…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="281"/>
        <source>Checking the backend…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/run_list.py" line="124"/>
        <source>Open folder</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/run_list.py" line="152"/>
        <source>cancelling… ({progress})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/run_list.py" line="164"/>
        <source>cancelling…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/run_list.py" line="178"/>
        <source>Saved in {name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/run_list.py" line="180"/>
        <source>Open the folder of {path}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/run_list.py" line="192"/>
        <source>Remove from the list (the layers stay)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/run_list.py" line="207"/>
        <source>running</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/run_list.py" line="207"/>
        <source>cancelling</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/run_list.py" line="207"/>
        <source>finished</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/run_list.py" line="208"/>
        <source>cancelled, partial result kept</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/run_list.py" line="227"/>
        <source>Clear finished</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/run_list.py" line="228"/>
        <source>Remove ended runs from this list (their layers stay)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/status_line.py" line="21"/>
        <source>Backend at {url}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/status_line.py" line="22"/>
        <source>Local backend</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/status_line.py" line="29"/>
        <source>using the model server at {url} (model {model})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/status_line.py" line="32"/>
        <source>scripted demo answers from {script}, no model</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/status_line.py" line="34"/>
        <source>on the GPU ({device})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/status_line.py" line="36"/>
        <source>on the Apple GPU (MPS)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/status_line.py" line="38"/>
        <source>on the CPU (slow)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/status_line.py" line="40"/>
        <source>on {device}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/status_line.py" line="41"/>
        <source>model {model} {where}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/status_line.py" line="46"/>
        <source>the model server at {url} is unreachable: is it running, and is the URL right?</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/status_line.py" line="49"/>
        <source>the model server at {url} refused: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/status_line.py" line="51"/>
        <source>the model {model} failed to load: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/status_line.py" line="116"/>
        <source>Local backend: not started yet; it starts with the first run.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/status_line.py" line="64"/>
        <source>{where}: connecting to the model server at {url}…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/status_line.py" line="66"/>
        <source>{where}: loading the model {model}…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/status_line.py" line="68"/>
        <source>{where}: ready, {what}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/status_line.py" line="70"/>
        <source>(1 run going)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/status_line.py" line="70"/>
        <source>({count} runs going)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/status_line.py" line="74"/>
        <source>{where} runs, but {problem}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/status_line.py" line="76"/>
        <source>Local backend stopped: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/status_line.py" line="77"/>
        <source>{where} is unreachable: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/status_line.py" line="83"/>
        <source>Backend server: {url}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/status_line.py" line="85"/>
        <source>Model: {model}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/status_line.py" line="87"/>
        <source>Backend memory (peak): {mb} MB</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/status_line.py" line="91"/>
        <source>Log: {path}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/env_tasks.py" line="169"/>
        <source>the Python at {path} has none of the {total} packages the backend needs ({names})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/env_tasks.py" line="171"/>
        <source>the Python at {path} lacks {count} of the {total} packages the backend needs ({names})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/env_tasks.py" line="175"/>
        <source>the Python at {path} lacks the package {name}, and probably others the backend needs</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/env_tasks.py" line="204"/>
        <source>the Python at {path} cannot run the backend: {error}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/wording.py" line="41"/>
        <source>{count} {label}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/wording.py" line="42"/>
        <source>{count} {labels}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/wording.py" line="53"/>
        <source>1 other object</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/wording.py" line="53"/>
        <source>{count} other objects</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/wording.py" line="56"/>
        <source>1 object</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/wording.py" line="56"/>
        <source>{count} objects</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/wording.py" line="62"/>
        <source>{label}: 1 tile</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/wording.py" line="62"/>
        <source>{label}: {count} tiles</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/wording.py" line="78"/>
        <source>image described</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/wording.py" line="80"/>
        <source>question answered</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/wording.py" line="83"/>
        <source>location found</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/wording.py" line="83"/>
        <source>{count} locations found</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/wording.py" line="86"/>
        <source>1 region described</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/wording.py" line="86"/>
        <source>{count} regions described</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/wording.py" line="94"/>
        <source>cancelled before it started</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/wording.py" line="96"/>
        <source>failed: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/wording.py" line="104"/>
        <source>cancelled: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/wording.py" line="104"/>
        <source>cancelled before the first tile</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/wording.py" line="106"/>
        <source>cancelled after {done} of {total} tiles; kept {found}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/wording.py" line="108"/>
        <source>cancelled after {done} of {total} tiles; nothing found before</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/runs.py" line="177"/>
        <source>{title} failed: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/results.py" line="89"/>
        <source>{title} — demo (scripted answers)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/runs.py" line="203"/>
        <source>(saved in {path})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/results.py" line="104"/>
        <source>{name} (demo)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="115"/>
        <source>http://localhost:8000/v1 (several: one per line)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="117"/>
        <source>Model servers (openai engine)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/prepare.py" line="231"/>
        <source>Give one band or three bands (red, green, blue), not {count}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/prepare.py" line="234"/>
        <source>The layer {name} has no band {band} (it has {count}).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="157"/>
        <source>Bands sent to the model (one, or red, green, blue; empty: the bands the layer shows)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="246"/>
        <source>Uploading the rendered image…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="246"/>
        <source>Running…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="408"/>
        <source>Candidate classes, comma separated (empty: those named in the instruction, else the 45 NWPU-RESISC45 scene classes)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="128"/>
        <source>Refine boxes with SAM2 (outlines and rotated boxes for detection and change)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="182"/>
        <source>Refine boxes with SAM2 (outlines and rotated boxes)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="312"/>
        <source>Finds the objects the instruction names and writes them as rotated boxes (polygons) in the raster&apos;s CRS, with their label and score. With REFINE, each box prompts SAM2: the result is the outline&apos;s minimum rotated rectangle, and the outlines go to the run&apos;s polygons layer.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/raster_url.py" line="24"/>
        <source>GeoRSMLLM: opening {url}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/raster_url.py" line="37"/>
        <source>{name} could not be opened as a raster layer (is it a GeoTIFF?)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/raster_url.py" line="54"/>
        <source>Raster from URL…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/raster_url.py" line="55"/>
        <source>Add a cloud-optimised GeoTIFF or a STAC item by URL; runs read only the tiles they need</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/raster_url.py" line="61"/>
        <source>Raster from URL</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/raster_url.py" line="61"/>
        <source>URL of a cloud-optimised GeoTIFF or a STAC item (http or https):</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/raster_url.py" line="77"/>
        <source>The URL could not be opened.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/plan_view.py" line="20"/>
        <source>GIS measure</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/plan_view.py" line="20"/>
        <source>assumption</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/plan_view.py" line="21"/>
        <source>answer</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/results.py" line="62"/>
        <source>Plan:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/refine_tool.py" line="110"/>
        <source>Refine by clicking: click inside an object to add a point, Shift+click for a point outside it, drag a box around it; Enter or right-click keeps the result, Backspace removes the last prompt, Esc cancels.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/refine_tool.py" line="139"/>
        <source>Choose a segmentation result layer to refine first.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/refine_tool.py" line="169"/>
        <source>Click inside an object of {name} to refine it.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/refine_tool.py" line="183"/>
        <source>Drag the box over an object of {name} to refine it.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/refine_tool.py" line="211"/>
        <source>Refinement cancelled: the object is unchanged.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/refine_tool.py" line="263"/>
        <source>Refinement failed: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/refine_tool.py" line="263"/>
        <source>no answer</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/refine_tool.py" line="267"/>
        <source>The backend answered no outline.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/refine_tool.py" line="287"/>
        <source>Nothing to keep yet: click inside the object or drag a box around it.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/refine_tool.py" line="296"/>
        <source>Object refined in {name} (Ctrl+Z undoes; save the layer&apos;s edits to keep it).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/refine.py" line="116"/>
        <source>The refined outline is empty: the feature was not changed.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/refine.py" line="123"/>
        <source>The layer {name} cannot be edited.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/refine.py" line="124"/>
        <source>Refine object</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/refine.py" line="133"/>
        <source>The feature could not be changed (was it deleted?).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/tasks.py" line="178"/>
        <source>GeoRSMLLM: refining an object</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/main.py" line="116"/>
        <source>Refine by clicking</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/main.py" line="118"/>
        <source>Refine an object of the current GeoRSMLLM result layer with SAM2: click inside it, Shift+click outside it or drag a box; Enter keeps the result, Esc cancels</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/main.py" line="157"/>
        <source>Select a segmentation result layer (or a SAM2-refined one) to refine.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="59"/>
        <source>Automatic (from the wording)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="59"/>
        <source>Follow up on the last result</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="59"/>
        <source>New run on the image</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="150"/>
        <source>Whether the instruction filters the last result (&quot;now only those larger than 500 m²&quot;, &quot;which of these are north of the river?&quot;) or starts a new run on the image. Automatic: a follow-up when the wording refers to the last result (these, those, the ones…).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="160"/>
        <source>Follow up</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="213"/>
        <source>Last result: {title}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="213"/>
        <source>No result to follow up on yet.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/prepare.py" line="415"/>
        <source>The last result ({name}) has no objects to follow up on.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/prepare.py" line="420"/>
        <source>There is no result to follow up on: run an instruction first (its result must still be in the project), or choose a new run.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/results.py" line="66"/>
        <source>Follows up on: {layer} ({count} objects); no new search</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/results.py" line="70"/>
        <source>Chain (objects after each step): {steps}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/wording.py" line="74"/>
        <source>{found} kept of {total}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/logic/wording.py" line="74"/>
        <source>none</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="442"/>
        <source>Filter a result in words</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="445"/>
        <source>Which of its objects to keep (e.g. 'those larger than 500 m²', 'remove the ones inside the parks layer')</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="449"/>
        <source>Result layer to filter (boxes or polygons of an earlier run)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="456"/>
        <source>The result layer to filter is missing or invalid.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="466"/>
        <source>Filters the objects of a result layer by an instruction about them (&quot;those larger than 500 m²&quot;, &quot;which of these are north of the river?&quot;, &quot;remove the ones inside the parks layer&quot;): GIS conditions are measured without calling the model; visual ones ask the model only about those objects. The raster is the image they were found on.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/runs.py" line="156"/>
        <source>↳ {title} (follow-up of {previous})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="339"/>
        <source>resuming…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../plugin/gui/run_list.py" line="102"/>
        <source>Resume: go on from the tiles this run finished</source>
        <translation type="unfinished"></translation>
    </message>
</context>
</TS>
