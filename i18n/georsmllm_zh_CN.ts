<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN" sourcelanguage="en">
<context>
    <name>@default</name>
    <message>
        <location filename="../plugin/gui/dock.py" line="48"/>
        <source>Automatic (from the instruction)</source>
        <translation>自动（根据指令判断）</translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="300"/>
        <source>Detect objects</source>
        <translation>目标检测</translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="321"/>
        <source>Segment</source>
        <translation>分割</translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="336"/>
        <source>Detect changes</source>
        <translation>变化检测</translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="46"/>
        <source>Describe the image</source>
        <translation>描述影像</translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="370"/>
        <source>Describe regions</source>
        <translation>描述区域</translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="46"/>
        <source>Answer a question</source>
        <translation>回答问题</translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="47"/>
        <source>Classify the scene</source>
        <translation>场景分类</translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="47"/>
        <source>Geolocate</source>
        <translation>地理定位</translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="54"/>
        <source>Whole layer</source>
        <translation>整个图层</translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="54"/>
        <source>Current map extent</source>
        <translation>当前地图范围</translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="54"/>
        <source>Selected features of</source>
        <translation>选中要素所在图层</translation>
    </message>
    <message>
        <location filename="../plugin/gui/run_list.py" line="113"/>
        <source>starting…</source>
        <translation>正在启动…</translation>
    </message>
    <message>
        <location filename="../plugin/gui/run_list.py" line="195"/>
        <source>Cancel this run</source>
        <translation>取消此次运行</translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="237"/>
        <source>{done}/{total} tiles</source>
        <translation>{done}/{total} 个瓦片</translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="76"/>
        <source>GeoRSMLLM</source>
        <translation>GeoRSMLLM</translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="85"/>
        <source>Start / restart backend</source>
        <translation>启动 / 重启后端</translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="98"/>
        <source>e.g. segment all buildings north of the river</source>
        <translation>例如：分割河流以北的所有建筑</translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="109"/>
        <source>Task</source>
        <translation>任务</translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="291"/>
        <source>Image</source>
        <translation>影像</translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="119"/>
        <source>After image</source>
        <translation>后时相影像</translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="131"/>
        <source>Area</source>
        <translation>范围</translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="373"/>
        <source>Features to describe</source>
        <translation>要描述的要素</translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="138"/>
        <source>farmland, forest, city (optional)</source>
        <translation>农田, 森林, 城市（可选）</translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="139"/>
        <source>Classes</source>
        <translation>类别</translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="144"/>
        <source>Vector layers the instruction may name (&quot;within 200 m of roads&quot;)</source>
        <translation>指令中可引用的矢量图层（如“道路 200 米以内”）</translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="145"/>
        <source>Context layers</source>
        <translation>上下文图层</translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="164"/>
        <source>Show plan</source>
        <translation>显示计划</translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="166"/>
        <source>Run</source>
        <translation>运行</translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="139"/>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <location filename="../plugin/gui/run_list.py" line="221"/>
        <source>Runs</source>
        <translation>运行任务</translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="185"/>
        <source>Captions, answers and messages appear here.</source>
        <translation>描述、回答和消息将显示在这里。</translation>
    </message>
    <message>
        <location filename="../plugin/logic/prepare.py" line="326"/>
        <source>Write an instruction first.</source>
        <translation>请先输入指令。</translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="233"/>
        <source>Add a raster layer to the project and choose it.</source>
        <translation>请向工程添加栅格图层并选择它。</translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="245"/>
        <source>There is no map canvas to take the extent from.</source>
        <translation>没有可获取范围的地图画布。</translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="271"/>
        <source>Asking the backend for a plan…</source>
        <translation>正在向后端请求执行计划…</translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="291"/>
        <source>Before image</source>
        <translation>前时相影像</translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="319"/>
        <source>No plan: {reason}</source>
        <translation>无执行计划：{reason}</translation>
    </message>
    <message>
        <location filename="../plugin/logic/results.py" line="45"/>
        <source>Task: {task} ({reason})</source>
        <translation>任务：{task}（{reason}）</translation>
    </message>
    <message>
        <location filename="../plugin/logic/plan_view.py" line="47"/>
        <source>Dialect: {dialect}; parser: {parser}</source>
        <translation>方言：{dialect}；解析器：{parser}</translation>
    </message>
    <message>
        <location filename="../plugin/logic/plan_view.py" line="20"/>
        <source>model step</source>
        <translation>模型步骤</translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="339"/>
        <source>starting the backend…</source>
        <translation>正在启动后端…</translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="339"/>
        <source>uploading…</source>
        <translation>正在上传…</translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="339"/>
        <source>submitting…</source>
        <translation>正在提交…</translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="339"/>
        <source>running…</source>
        <translation>正在运行…</translation>
    </message>
    <message>
        <location filename="../plugin/gui/layer_actions.py" line="37"/>
        <source>Ask GeoRSMLLM…</source>
        <translation>询问 GeoRSMLLM…</translation>
    </message>
    <message>
        <location filename="../plugin/gui/layer_actions.py" line="37"/>
        <source>Detect objects…</source>
        <translation>目标检测…</translation>
    </message>
    <message>
        <location filename="../plugin/gui/layer_actions.py" line="37"/>
        <source>Segment…</source>
        <translation>分割…</translation>
    </message>
    <message>
        <location filename="../plugin/gui/layer_actions.py" line="37"/>
        <source>Describe this image</source>
        <translation>描述此影像</translation>
    </message>
    <message>
        <location filename="../plugin/gui/layer_actions.py" line="37"/>
        <source>Detect changes against…</source>
        <translation>与…进行变化检测</translation>
    </message>
    <message>
        <location filename="../plugin/gui/layer_actions.py" line="44"/>
        <source>Describe these features</source>
        <translation>描述这些要素</translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="75"/>
        <source>Backend</source>
        <translation>后端</translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="80"/>
        <source>Python interpreter</source>
        <translation>Python 解释器</translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="82"/>
        <source>empty: start a local backend</source>
        <translation>留空：启动本地后端</translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="83"/>
        <source>Server URL</source>
        <translation>服务器地址</translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="86"/>
        <source>Server token</source>
        <translation>服务器令牌</translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="91"/>
        <source>Start-up timeout</source>
        <translation>启动超时</translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="94"/>
        <source>More backend options</source>
        <translation>更多后端选项</translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="113"/>
        <source>Model</source>
        <translation>模型</translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="110"/>
        <source>Engine</source>
        <translation>引擎</translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="112"/>
        <source>model folder or hub id (empty: the backend&apos;s default)</source>
        <translation>模型文件夹或 Hub ID（留空：使用后端默认值）</translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="118"/>
        <source>(the model family&apos;s own)</source>
        <translation>（模型系列自带）</translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="119"/>
        <source>Dialect</source>
        <translation>方言</translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="121"/>
        <source>empty: rule-based; &apos;same&apos;: the main model</source>
        <translation>留空：基于规则；'same'：使用主模型</translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="122"/>
        <source>Condition parser model</source>
        <translation>条件解析模型</translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="124"/>
        <source>Segmenter</source>
        <translation>分割器</translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="127"/>
        <source>SAM2 checkpoint</source>
        <translation>SAM2 权重</translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="132"/>
        <source>Device</source>
        <translation>设备</translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="135"/>
        <source>Tiling</source>
        <translation>分块</translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="140"/>
        <source>Tile size (px)</source>
        <translation>瓦片大小（像素）</translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="144"/>
        <source>Overlap (px)</source>
        <translation>重叠（像素）</translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="149"/>
        <source>native</source>
        <translation>原始分辨率</translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="150"/>
        <source>Target GSD (map units/px)</source>
        <translation>目标地面采样距离（地图单位/像素）</translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="154"/>
        <source>Tiles in flight</source>
        <translation>并行瓦片数</translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="158"/>
        <source>Results folder</source>
        <translation>结果文件夹</translation>
    </message>
    <message>
        <location filename="../plugin/logic/live_layer.py" line="46"/>
        <source>{title} (running)</source>
        <translation>{title}（运行中）</translation>
    </message>
    <message>
        <location filename="../plugin/logic/prepare.py" line="124"/>
        <source>The layer {name} could not be exported for the backend: {reason}</source>
        <translation>无法为后端导出图层 {name}：{reason}</translation>
    </message>
    <message>
        <location filename="../plugin/logic/prepare.py" line="152"/>
        <source>The layer {name} has no features to describe.</source>
        <translation>图层 {name} 中没有可描述的要素。</translation>
    </message>
    <message>
        <location filename="../plugin/logic/prepare.py" line="177"/>
        <source>No map extent was given.</source>
        <translation>未提供地图范围。</translation>
    </message>
    <message>
        <location filename="../plugin/logic/prepare.py" line="183"/>
        <source>Choose a polygon layer whose selected features give the area.</source>
        <translation>请选择一个面图层，以其选中要素作为范围。</translation>
    </message>
    <message>
        <location filename="../plugin/logic/prepare.py" line="185"/>
        <source>Select features in {name} first.</source>
        <translation>请先在 {name} 中选择要素。</translation>
    </message>
    <message>
        <location filename="../plugin/logic/prepare.py" line="188"/>
        <source>Unknown area {area}.</source>
        <translation>未知范围 {area}。</translation>
    </message>
    <message>
        <location filename="../plugin/logic/prepare.py" line="192"/>
        <source>The chosen area does not overlap the raster {name}.</source>
        <translation>所选范围与栅格 {name} 不重叠。</translation>
    </message>
    <message>
        <location filename="../plugin/logic/prepare.py" line="199"/>
        <source>Choose a valid raster layer for {what}.</source>
        <translation>请为{what}选择有效的栅格图层。</translation>
    </message>
    <message>
        <location filename="../plugin/logic/prepare.py" line="289"/>
        <source>the image</source>
        <translation>影像</translation>
    </message>
    <message>
        <location filename="../plugin/logic/prepare.py" line="290"/>
        <source>the &apos;after&apos; image</source>
        <translation>后时相影像</translation>
    </message>
    <message>
        <location filename="../plugin/logic/prepare.py" line="329"/>
        <source>Change detection needs a second (&apos;after&apos;) raster layer.</source>
        <translation>变化检测需要第二个（后时相）栅格图层。</translation>
    </message>
    <message>
        <location filename="../plugin/logic/prepare.py" line="303"/>
        <source>The layer of features to describe is missing.</source>
        <translation>缺少要描述的要素图层。</translation>
    </message>
    <message>
        <location filename="../plugin/logic/raster_source.py" line="79"/>
        <source>The layer {name} could not be rendered for upload.</source>
        <translation>无法渲染图层 {name} 以供上传。</translation>
    </message>
    <message>
        <location filename="../plugin/logic/raster_source.py" line="106"/>
        <source>The raster layer is missing or invalid.</source>
        <translation>栅格图层缺失或无效。</translation>
    </message>
    <message>
        <location filename="../plugin/logic/raster_source.py" line="120"/>
        <source>The area to send lies outside the layer {name}.</source>
        <translation>要发送的范围位于图层 {name} 之外。</translation>
    </message>
    <message>
        <location filename="../plugin/logic/results.py" line="59"/>
        <source>Partial result: the run was cancelled.</source>
        <translation>部分结果：运行已被取消。</translation>
    </message>
    <message>
        <location filename="../plugin/logic/tasks.py" line="41"/>
        <source>GeoRSMLLM: connecting to the backend</source>
        <translation>GeoRSMLLM：正在连接后端</translation>
    </message>
    <message>
        <location filename="../plugin/logic/env_tasks.py" line="193"/>
        <source>not checked</source>
        <translation>未检查</translation>
    </message>
    <message>
        <location filename="../plugin/logic/tasks.py" line="77"/>
        <source>GeoRSMLLM: planning</source>
        <translation>GeoRSMLLM：正在规划</translation>
    </message>
    <message>
        <location filename="../plugin/logic/tasks.py" line="114"/>
        <source>GeoRSMLLM: {title}</source>
        <translation>GeoRSMLLM：{title}</translation>
    </message>
    <message>
        <location filename="../plugin/main.py" line="90"/>
        <source>GeoRSMLLM panel</source>
        <translation>GeoRSMLLM 面板</translation>
    </message>
    <message>
        <location filename="../plugin/main.py" line="91"/>
        <source>Settings…</source>
        <translation>设置…</translation>
    </message>
    <message>
        <location filename="../plugin/main.py" line="93"/>
        <source>About GeoRSMLLM</source>
        <translation>关于 GeoRSMLLM</translation>
    </message>
    <message>
        <location filename="../plugin/main.py" line="311"/>
        <source>No visible raster layer lies under {name}: add the image to describe.</source>
        <translation>{name} 下方没有可见的栅格图层：请添加要描述的影像。</translation>
    </message>
    <message>
        <location filename="../plugin/main.py" line="343"/>
        <source>GeoRSMLLM {version}
Natural-language instructions on raster layers.
Issues: {tracker}</source>
        <translation>GeoRSMLLM {version}
用自然语言指令分析栅格图层。
问题反馈：{tracker}</translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="124"/>
        <source>Vision-language tasks</source>
        <translation>视觉语言任务</translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="137"/>
        <source>Instruction</source>
        <translation>指令</translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="146"/>
        <source>Raster layer</source>
        <translation>栅格图层</translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="151"/>
        <source>Area of interest (whole layer when empty)</source>
        <translation>感兴趣区域（留空为整个图层）</translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="154"/>
        <source>Context vector layers the instruction may name</source>
        <translation>指令中可引用的上下文矢量图层</translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="160"/>
        <source>Tile size (pixels sent to the model)</source>
        <translation>瓦片大小（发送给模型的像素）</translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="162"/>
        <source>Tile overlap (pixels)</source>
        <translation>瓦片重叠（像素）</translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="164"/>
        <source>Target ground sample distance (map units per pixel, 0: native)</source>
        <translation>目标地面采样距离（地图单位/像素，0：原始）</translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="170"/>
        <source>Result layer</source>
        <translation>结果图层</translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="172"/>
        <source>Text answer</source>
        <translation>文本回答</translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="173"/>
        <source>Run id</source>
        <translation>运行 ID</translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="174"/>
        <source>GeoPackage with every layer of the run</source>
        <translation>包含本次运行所有图层的 GeoPackage</translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="175"/>
        <source>Number of features</source>
        <translation>要素数量</translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="199"/>
        <source>The input raster layer is missing or invalid.</source>
        <translation>输入栅格图层缺失或无效。</translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="203"/>
        <source>The instruction is empty: say what to look for.</source>
        <translation>指令为空：请说明要查找什么。</translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="209"/>
        <source>The area of interest does not overlap the raster.</source>
        <translation>感兴趣区域与栅格不重叠。</translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="348"/>
        <source>Change detection needs a valid second (&apos;after&apos;) raster.</source>
        <translation>变化检测需要有效的第二个（后时相）栅格。</translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="232"/>
        <source>The algorithm was not prepared.</source>
        <translation>算法尚未准备好。</translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="245"/>
        <source>Connecting to the GeoRSMLLM backend (a local one is started if needed)…</source>
        <translation>正在连接 GeoRSMLLM 后端（必要时启动本地后端）…</translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="252"/>
        <source>GeoRSMLLM backend: {reason}</source>
        <translation>GeoRSMLLM 后端：{reason}</translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="257"/>
        <source>Cancelled: the output holds what was done before the cancel.</source>
        <translation>已取消：输出包含取消前已完成的结果。</translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="309"/>
        <source>Objects to detect (e.g. &apos;planes&apos;, &apos;storage tanks near the harbour&apos;)</source>
        <translation>要检测的目标（如“飞机”“港口附近的储油罐”）</translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="324"/>
        <source>What to segment (e.g. &apos;buildings north of the river&apos;)</source>
        <translation>要分割的内容（如“河流以北的建筑”）</translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="327"/>
        <source>Outlines the things the instruction names as polygons (the model points at them, SAM2 draws the masks).</source>
        <translation>将指令所述的对象勾画为多边形（模型给出位置，SAM2 绘制掩膜）。</translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="339"/>
        <source>Changes to find (e.g. &apos;new buildings&apos;)</source>
        <translation>要查找的变化（如“新建建筑”）</translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="342"/>
        <source>&apos;After&apos; raster layer</source>
        <translation>后时相栅格图层</translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="353"/>
        <source>Compares the raster (before) with the &apos;after&apos; raster and writes the changed areas as polygons.</source>
        <translation>比较前时相栅格与后时相栅格，并将变化区域写为多边形。</translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="360"/>
        <source>Describe image</source>
        <translation>描述影像</translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="363"/>
        <source>Writes a description of the image (the ANSWER output), and the described area as a polygon.</source>
        <translation>生成影像描述（ANSWER 输出），并将描述的区域写为多边形。</translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="379"/>
        <source>The features to describe are missing.</source>
        <translation>缺少要描述的要素。</translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="384"/>
        <source>Describes each feature&apos;s area of the raster; the answers are in the result layer&apos;s attributes and the ANSWER output.</source>
        <translation>描述每个要素所覆盖的栅格区域；回答保存在结果图层属性和 ANSWER 输出中。</translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="392"/>
        <source>Ask a question</source>
        <translation>提问</translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="395"/>
        <source>Question about the image</source>
        <translation>关于影像的问题</translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="398"/>
        <source>Answers a question about the image (the ANSWER output).</source>
        <translation>回答关于影像的问题（ANSWER 输出）。</translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="405"/>
        <source>Classify scene</source>
        <translation>场景分类</translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="418"/>
        <source>Classifies each tile of the raster; the class is the label of the tile polygons.</source>
        <translation>对栅格的每个瓦片进行分类；类别即瓦片多边形的标签。</translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="426"/>
        <source>Geolocate image</source>
        <translation>影像地理定位</translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="429"/>
        <source>Asks the model where the image was taken and writes its guess as a point.</source>
        <translation>让模型判断影像的拍摄地点，并将结果写为点。</translation>
    </message>
    <message>
        <location filename="../plugin/gui/run_list.py" line="208"/>
        <source>cancelled</source>
        <translation>已取消</translation>
    </message>
    <message>
        <location filename="../plugin/gui/run_list.py" line="209"/>
        <source>failed</source>
        <translation>失败</translation>
    </message>
    <message>
        <location filename="../plugin/logic/wording.py" line="100"/>
        <source>nothing found</source>
        <translation>未找到任何结果</translation>
    </message>
    <message>
        <location filename="../plugin/runs.py" line="201"/>
        <source>{title}: {summary}</source>
        <translation>{title}：{summary}</translation>
    </message>
    <message>
        <location filename="../plugin/logic/results.py" line="44"/>
        <source>Instruction: {text}</source>
        <translation>指令：{text}</translation>
    </message>
    <message>
        <location filename="../plugin/logic/results.py" line="47"/>
        <source>Model: {model} [{engine}, {device}]</source>
        <translation>模型：{model} [{engine}，{device}]</translation>
    </message>
    <message>
        <location filename="../plugin/logic/results.py" line="50"/>
        <source>Dialect: {dialect}</source>
        <translation>方言：{dialect}</translation>
    </message>
    <message>
        <location filename="../plugin/logic/results.py" line="51"/>
        <source>Raster: {name}</source>
        <translation>栅格：{name}</translation>
    </message>
    <message>
        <location filename="../plugin/logic/results.py" line="52"/>
        <source>Tiles: {done}/{total}; tile size {size}, overlap {overlap}, GSD {gsd}</source>
        <translation>瓦片：{done}/{total}；瓦片大小 {size}，重叠 {overlap}，GSD {gsd}</translation>
    </message>
    <message>
        <location filename="../plugin/logic/results.py" line="55"/>
        <source>Time: {seconds} s</source>
        <translation>耗时：{seconds} 秒</translation>
    </message>
    <message>
        <location filename="../plugin/logic/results.py" line="56"/>
        <source>Run id: {run_id}</source>
        <translation>运行 ID：{run_id}</translation>
    </message>
    <message>
        <location filename="../plugin/gui/backend_env_dialog.py" line="53"/>
        <source>GeoRSMLLM: set up the backend</source>
        <translation>GeoRSMLLM：配置后端</translation>
    </message>
    <message>
        <location filename="../plugin/gui/backend_env_dialog.py" line="61"/>
        <source>The backend runs in its own Python environment (not QGIS&apos;s Python): PyTorch, transformers and the server are installed there. A failed or cancelled set-up resumes where it stopped.</source>
        <translation>后端运行在独立的 Python 环境中（不是 QGIS 自带的 Python）：PyTorch、transformers 和服务都安装在那里。失败或取消的安装会从中断处继续。</translation>
    </message>
    <message>
        <location filename="../plugin/gui/backend_env_dialog.py" line="70"/>
        <source>Environment folder</source>
        <translation>环境文件夹</translation>
    </message>
    <message>
        <location filename="../plugin/gui/backend_env_dialog.py" line="75"/>
        <source>PyTorch device</source>
        <translation>PyTorch 设备</translation>
    </message>
    <message>
        <location filename="../plugin/gui/backend_env_dialog.py" line="77"/>
        <source>Press Set up to see the plan before anything is installed.</source>
        <translation>点击“安装”先查看安装计划，确认前不会安装任何内容。</translation>
    </message>
    <message>
        <location filename="../plugin/gui/backend_env_dialog.py" line="95"/>
        <source>Set up</source>
        <translation>安装</translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="137"/>
        <source>Check</source>
        <translation>检查</translation>
    </message>
    <message>
        <location filename="../plugin/gui/backend_env_dialog.py" line="97"/>
        <source>Repair</source>
        <translation>修复</translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="140"/>
        <source>Close</source>
        <translation>关闭</translation>
    </message>
    <message>
        <location filename="../plugin/gui/backend_env_dialog.py" line="120"/>
        <source>Set up the backend</source>
        <translation>配置后端</translation>
    </message>
    <message>
        <location filename="../plugin/gui/backend_env_dialog.py" line="120"/>
        <source>Install now?</source>
        <translation>现在安装吗？</translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="238"/>
        <source>Cancelling…</source>
        <translation>正在取消…</translation>
    </message>
    <message>
        <location filename="../plugin/gui/backend_env_dialog.py" line="166"/>
        <source>Cancelled. Set up again to resume: finished steps are skipped.</source>
        <translation>已取消。再次点击“安装”即可继续：已完成的步骤会被跳过。</translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="262"/>
        <source>Failed: {error}</source>
        <translation>失败：{error}</translation>
    </message>
    <message>
        <location filename="../plugin/gui/backend_env_dialog.py" line="170"/>
        <source>Fix the cause and press Set up again: finished steps are skipped.</source>
        <translation>排除原因后再次点击“安装”：已完成的步骤会被跳过。</translation>
    </message>
    <message>
        <location filename="../plugin/gui/backend_env_dialog.py" line="182"/>
        <source>Nothing installed.</source>
        <translation>未安装任何内容。</translation>
    </message>
    <message>
        <location filename="../plugin/gui/backend_env_dialog.py" line="186"/>
        <source>The plugin now runs the backend with {python}.</source>
        <translation>插件现在使用 {python} 运行后端。</translation>
    </message>
    <message>
        <location filename="../plugin/gui/backend_env_dialog.py" line="191"/>
        <source>The environment is complete.</source>
        <translation>环境完整。</translation>
    </message>
    <message>
        <location filename="../plugin/gui/backend_env_dialog.py" line="191"/>
        <source>{count} problem(s) found: press Repair.</source>
        <translation>发现 {count} 个问题：请点击“修复”。</translation>
    </message>
    <message>
        <location filename="../plugin/gui/backend_tools.py" line="27"/>
        <source>GeoRSMLLM: no backend yet</source>
        <translation>GeoRSMLLM：尚未配置后端</translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="97"/>
        <source>Set up backend…</source>
        <translation>配置后端…</translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="97"/>
        <source>Models…</source>
        <translation>模型…</translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="77"/>
        <source>GeoRSMLLM: models</source>
        <translation>GeoRSMLLM：模型</translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="90"/>
        <source>Model cache</source>
        <translation>模型缓存</translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="92"/>
        <source>Model hub</source>
        <translation>模型仓库</translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="94"/>
        <source>Sizes and memory are approximate. Check each licence on the model&apos;s page before use.</source>
        <translation>大小和内存均为近似值。使用前请在模型页面核对其许可证。</translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="136"/>
        <source>Download</source>
        <translation>下载</translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="138"/>
        <source>Use this model</source>
        <translation>使用此模型</translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="199"/>
        <source>your server</source>
        <translation>你的服务器</translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="199"/>
        <source>your folder</source>
        <translation>你的文件夹</translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="201"/>
        <source>downloaded</source>
        <translation>已下载</translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="201"/>
        <source>not downloaded</source>
        <translation>未下载</translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="212"/>
        <source>Downloading {model}…</source>
        <translation>正在下载 {model}…</translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="222"/>
        <source>Loading {model} once with {python}…</source>
        <translation>正在用 {python} 加载一次 {model}…</translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="253"/>
        <source>Downloaded to {path}.</source>
        <translation>已下载到 {path}。</translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="257"/>
        <source>The model loads: {message}</source>
        <translation>模型可以加载：{message}</translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="259"/>
        <source>Cancelled. Partial files are kept: Download again continues them.</source>
        <translation>已取消。已下载的部分文件会保留：再次下载将继续。</translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="260"/>
        <source>Check cancelled.</source>
        <translation>检查已取消。</translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="272"/>
        <source>Model folder (transformers checkpoint)</source>
        <translation>模型文件夹（transformers 检查点）</translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="275"/>
        <source>Model server</source>
        <translation>模型服务器</translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="275"/>
        <source>OpenAI-compatible model server URL (e.g. http://localhost:8000/v1):</source>
        <translation>兼容 OpenAI 的模型服务器 URL（例如 http://localhost:8000/v1）：</translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="291"/>
        <source>Download {model} first: the segmenter needs its checkpoint file.</source>
        <translation>请先下载 {model}：分割器需要其检查点文件。</translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="300"/>
        <source>The plugin now uses {model} ({location}).</source>
        <translation>插件现在使用 {model}（{location}）。</translation>
    </message>
    <message>
        <location filename="../plugin/logic/env_tasks.py" line="82"/>
        <source>not run</source>
        <translation>未运行</translation>
    </message>
    <message>
        <location filename="../plugin/logic/env_tasks.py" line="95"/>
        <source>GeoRSMLLM: planning the backend set-up</source>
        <translation>GeoRSMLLM：正在规划后端安装</translation>
    </message>
    <message>
        <location filename="../plugin/logic/env_tasks.py" line="95"/>
        <source>GeoRSMLLM: setting up the backend</source>
        <translation>GeoRSMLLM：正在配置后端</translation>
    </message>
    <message>
        <location filename="../plugin/logic/env_tasks.py" line="96"/>
        <source>GeoRSMLLM: checking the backend</source>
        <translation>GeoRSMLLM：正在检查后端</translation>
    </message>
    <message>
        <location filename="../plugin/logic/env_tasks.py" line="96"/>
        <source>GeoRSMLLM: repairing the backend</source>
        <translation>GeoRSMLLM：正在修复后端</translation>
    </message>
    <message>
        <location filename="../plugin/logic/env_tasks.py" line="124"/>
        <source>cannot write the environment: {error}</source>
        <translation>无法写入环境：{error}</translation>
    </message>
    <message>
        <location filename="../plugin/logic/env_tasks.py" line="132"/>
        <source>No PyTorch in this environment&apos;s requirements: no device to verify.</source>
        <translation>此环境的依赖中没有 PyTorch：无需验证设备。</translation>
    </message>
    <message>
        <location filename="../plugin/logic/env_tasks.py" line="134"/>
        <source>PyTorch does not import in the environment: {error}</source>
        <translation>环境中无法导入 PyTorch：{error}</translation>
    </message>
    <message>
        <location filename="../plugin/logic/env_tasks.py" line="137"/>
        <source>PyTorch {version} runs on the CPU ONLY: no GPU is used and models will run slowly.</source>
        <translation>PyTorch {version} 仅在 CPU 上运行：不使用 GPU，模型运行会很慢。</translation>
    </message>
    <message>
        <location filename="../plugin/logic/env_tasks.py" line="140"/>
        <source>PyTorch {version} runs on {device}{gpu}.</source>
        <translation>PyTorch {version} 运行在 {device}{gpu} 上。</translation>
    </message>
    <message>
        <location filename="../plugin/logic/env_tasks.py" line="189"/>
        <source>GeoRSMLLM: looking for the backend</source>
        <translation>GeoRSMLLM：正在查找后端</translation>
    </message>
    <message>
        <location filename="../plugin/logic/env_tasks.py" line="198"/>
        <source>the Python interpreter {path} does not exist</source>
        <translation>Python 解释器 {path} 不存在</translation>
    </message>
    <message>
        <location filename="../plugin/logic/env_tasks.py" line="228"/>
        <source>GeoRSMLLM: looking for downloaded models</source>
        <translation>GeoRSMLLM：正在查找已下载的模型</translation>
    </message>
    <message>
        <location filename="../plugin/logic/env_tasks.py" line="255"/>
        <source>GeoRSMLLM: downloading {model}</source>
        <translation>GeoRSMLLM：正在下载 {model}</translation>
    </message>
    <message>
        <location filename="../plugin/logic/env_tasks.py" line="270"/>
        <source>cannot write the model cache: {error}</source>
        <translation>无法写入模型缓存：{error}</translation>
    </message>
    <message>
        <location filename="../plugin/logic/env_tasks.py" line="294"/>
        <source>GeoRSMLLM: checking {model}</source>
        <translation>GeoRSMLLM：正在检查 {model}</translation>
    </message>
    <message>
        <location filename="../plugin/logic/env_tasks.py" line="309"/>
        <source>check cancelled</source>
        <translation>检查已取消</translation>
    </message>
    <message>
        <location filename="../plugin/logic/env_tasks.py" line="314"/>
        <source>no output</source>
        <translation>无输出</translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="98"/>
        <source>Memory</source>
        <translation>内存</translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="98"/>
        <source>Licence</source>
        <translation>许可证</translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="98"/>
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <location filename="../plugin/gui/models_dialog.py" line="98"/>
        <source>Dialect / tasks</source>
        <translation>方言 / 任务</translation>
    </message>
    <message>
        <location filename="../plugin/gui/backend_tools.py" line="27"/>
        <source>GeoRSMLLM runs its models in a backend: a Python environment of its own with PyTorch and the model libraries, apart from QGIS's Python. None is ready yet: {reason}.

Set it up now? Before anything is installed you will see what will be installed and about how much will be downloaded. You can also do it later (Raster &gt; GeoRSMLLM &gt; Set up backend…), or enter the URL of a running backend server in the settings.</source>
        <translation>GeoRSMLLM 在后端中运行模型：后端是一个独立的 Python 环境，包含 PyTorch 和模型库，与 QGIS 自带的 Python 分开。目前还没有可用的后端：{reason}。

现在配置吗？安装任何内容之前，您会看到将要安装什么以及大约需要下载多少。您也可以稍后配置（栅格 &gt; GeoRSMLLM &gt; 配置后端…），或在设置中填写一个正在运行的后端服务器的 URL。</translation>
    </message>
    <message>
        <location filename="../plugin/gui/status_line.py" line="61"/>
        <source>Local backend: starting…</source>
        <translation>本地后端：正在启动…</translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="281"/>
        <source>Checking the backend…</source>
        <translation>正在检查后端…</translation>
    </message>
    <message>
        <location filename="../plugin/gui/run_list.py" line="124"/>
        <source>Open folder</source>
        <translation>打开文件夹</translation>
    </message>
    <message>
        <location filename="../plugin/gui/run_list.py" line="152"/>
        <source>cancelling… ({progress})</source>
        <translation>正在取消…（{progress}）</translation>
    </message>
    <message>
        <location filename="../plugin/gui/run_list.py" line="164"/>
        <source>cancelling…</source>
        <translation>正在取消…</translation>
    </message>
    <message>
        <location filename="../plugin/gui/run_list.py" line="178"/>
        <source>Saved in {name}</source>
        <translation>已保存到 {name}</translation>
    </message>
    <message>
        <location filename="../plugin/gui/run_list.py" line="180"/>
        <source>Open the folder of {path}</source>
        <translation>打开 {path} 所在的文件夹</translation>
    </message>
    <message>
        <location filename="../plugin/gui/run_list.py" line="192"/>
        <source>Remove from the list (the layers stay)</source>
        <translation>从列表中移除（图层保留）</translation>
    </message>
    <message>
        <location filename="../plugin/gui/run_list.py" line="207"/>
        <source>running</source>
        <translation>运行中</translation>
    </message>
    <message>
        <location filename="../plugin/gui/run_list.py" line="207"/>
        <source>cancelling</source>
        <translation>正在取消</translation>
    </message>
    <message>
        <location filename="../plugin/gui/run_list.py" line="207"/>
        <source>finished</source>
        <translation>已完成</translation>
    </message>
    <message>
        <location filename="../plugin/gui/run_list.py" line="208"/>
        <source>cancelled, partial result kept</source>
        <translation>已取消，保留了部分结果</translation>
    </message>
    <message>
        <location filename="../plugin/gui/run_list.py" line="227"/>
        <source>Clear finished</source>
        <translation>清除已结束的</translation>
    </message>
    <message>
        <location filename="../plugin/gui/run_list.py" line="228"/>
        <source>Remove ended runs from this list (their layers stay)</source>
        <translation>从列表中移除已结束的运行（其图层保留）</translation>
    </message>
    <message>
        <location filename="../plugin/gui/status_line.py" line="21"/>
        <source>Backend at {url}</source>
        <translation>位于 {url} 的后端</translation>
    </message>
    <message>
        <location filename="../plugin/gui/status_line.py" line="22"/>
        <source>Local backend</source>
        <translation>本地后端</translation>
    </message>
    <message>
        <location filename="../plugin/gui/status_line.py" line="29"/>
        <source>using the model server at {url} (model {model})</source>
        <translation>使用位于 {url} 的模型服务器（模型 {model}）</translation>
    </message>
    <message>
        <location filename="../plugin/gui/status_line.py" line="32"/>
        <source>scripted demo answers from {script}, no model</source>
        <translation>来自 {script} 的脚本演示答案，未使用模型</translation>
    </message>
    <message>
        <location filename="../plugin/gui/status_line.py" line="34"/>
        <source>on the GPU ({device})</source>
        <translation>运行于 GPU（{device}）</translation>
    </message>
    <message>
        <location filename="../plugin/gui/status_line.py" line="36"/>
        <source>on the Apple GPU (MPS)</source>
        <translation>运行于 Apple GPU（MPS）</translation>
    </message>
    <message>
        <location filename="../plugin/gui/status_line.py" line="38"/>
        <source>on the CPU (slow)</source>
        <translation>运行于 CPU（较慢）</translation>
    </message>
    <message>
        <location filename="../plugin/gui/status_line.py" line="40"/>
        <source>on {device}</source>
        <translation>运行于 {device}</translation>
    </message>
    <message>
        <location filename="../plugin/gui/status_line.py" line="41"/>
        <source>model {model} {where}</source>
        <translation>模型 {model}，{where}</translation>
    </message>
    <message>
        <location filename="../plugin/gui/status_line.py" line="46"/>
        <source>the model server at {url} is unreachable: is it running, and is the URL right?</source>
        <translation>无法连接位于 {url} 的模型服务器：它是否在运行，URL 是否正确？</translation>
    </message>
    <message>
        <location filename="../plugin/gui/status_line.py" line="49"/>
        <source>the model server at {url} refused: {reason}</source>
        <translation>位于 {url} 的模型服务器拒绝了请求：{reason}</translation>
    </message>
    <message>
        <location filename="../plugin/gui/status_line.py" line="51"/>
        <source>the model {model} failed to load: {reason}</source>
        <translation>模型 {model} 加载失败：{reason}</translation>
    </message>
    <message>
        <location filename="../plugin/gui/status_line.py" line="116"/>
        <source>Local backend: not started yet; it starts with the first run.</source>
        <translation>本地后端：尚未启动；将在第一次运行时启动。</translation>
    </message>
    <message>
        <location filename="../plugin/gui/status_line.py" line="64"/>
        <source>{where}: connecting to the model server at {url}…</source>
        <translation>{where}：正在连接位于 {url} 的模型服务器…</translation>
    </message>
    <message>
        <location filename="../plugin/gui/status_line.py" line="66"/>
        <source>{where}: loading the model {model}…</source>
        <translation>{where}：正在加载模型 {model}…</translation>
    </message>
    <message>
        <location filename="../plugin/gui/status_line.py" line="68"/>
        <source>{where}: ready, {what}</source>
        <translation>{where}：就绪，{what}</translation>
    </message>
    <message>
        <location filename="../plugin/gui/status_line.py" line="70"/>
        <source>(1 run going)</source>
        <translation>（1 个运行进行中）</translation>
    </message>
    <message>
        <location filename="../plugin/gui/status_line.py" line="70"/>
        <source>({count} runs going)</source>
        <translation>（{count} 个运行进行中）</translation>
    </message>
    <message>
        <location filename="../plugin/gui/status_line.py" line="74"/>
        <source>{where} runs, but {problem}</source>
        <translation>{where}正在运行，但{problem}</translation>
    </message>
    <message>
        <location filename="../plugin/gui/status_line.py" line="76"/>
        <source>Local backend stopped: {reason}</source>
        <translation>本地后端已停止：{reason}</translation>
    </message>
    <message>
        <location filename="../plugin/gui/status_line.py" line="77"/>
        <source>{where} is unreachable: {reason}</source>
        <translation>无法连接{where}：{reason}</translation>
    </message>
    <message>
        <location filename="../plugin/gui/status_line.py" line="83"/>
        <source>Backend server: {url}</source>
        <translation>后端服务器：{url}</translation>
    </message>
    <message>
        <location filename="../plugin/gui/status_line.py" line="85"/>
        <source>Model: {model}</source>
        <translation>模型：{model}</translation>
    </message>
    <message>
        <location filename="../plugin/gui/status_line.py" line="87"/>
        <source>Backend memory (peak): {mb} MB</source>
        <translation>后端内存（峰值）：{mb} MB</translation>
    </message>
    <message>
        <location filename="../plugin/gui/status_line.py" line="91"/>
        <source>Log: {path}</source>
        <translation>日志：{path}</translation>
    </message>
    <message>
        <location filename="../plugin/logic/env_tasks.py" line="169"/>
        <source>the Python at {path} has none of the {total} packages the backend needs ({names})</source>
        <translation>{path} 处的 Python 没有后端所需的 {total} 个软件包中的任何一个（{names}）</translation>
    </message>
    <message>
        <location filename="../plugin/logic/env_tasks.py" line="171"/>
        <source>the Python at {path} lacks {count} of the {total} packages the backend needs ({names})</source>
        <translation>{path} 处的 Python 缺少后端所需的 {total} 个软件包中的 {count} 个（{names}）</translation>
    </message>
    <message>
        <location filename="../plugin/logic/env_tasks.py" line="175"/>
        <source>the Python at {path} lacks the package {name}, and probably others the backend needs</source>
        <translation>{path} 处的 Python 缺少软件包 {name}，可能还缺少后端所需的其他软件包</translation>
    </message>
    <message>
        <location filename="../plugin/logic/env_tasks.py" line="204"/>
        <source>the Python at {path} cannot run the backend: {error}</source>
        <translation>{path} 处的 Python 无法运行后端：{error}</translation>
    </message>
    <message>
        <location filename="../plugin/logic/wording.py" line="41"/>
        <source>{count} {label}</source>
        <translation>{label} {count} 个</translation>
    </message>
    <message>
        <location filename="../plugin/logic/wording.py" line="42"/>
        <source>{count} {labels}</source>
        <translation>{label} {count} 个</translation>
    </message>
    <message>
        <location filename="../plugin/logic/wording.py" line="53"/>
        <source>1 other object</source>
        <translation>其他对象 1 个</translation>
    </message>
    <message>
        <location filename="../plugin/logic/wording.py" line="53"/>
        <source>{count} other objects</source>
        <translation>其他对象 {count} 个</translation>
    </message>
    <message>
        <location filename="../plugin/logic/wording.py" line="56"/>
        <source>1 object</source>
        <translation>对象 1 个</translation>
    </message>
    <message>
        <location filename="../plugin/logic/wording.py" line="56"/>
        <source>{count} objects</source>
        <translation>对象 {count} 个</translation>
    </message>
    <message>
        <location filename="../plugin/logic/wording.py" line="62"/>
        <source>{label}: 1 tile</source>
        <translation>{label}：1 个瓦片</translation>
    </message>
    <message>
        <location filename="../plugin/logic/wording.py" line="62"/>
        <source>{label}: {count} tiles</source>
        <translation>{label}：{count} 个瓦片</translation>
    </message>
    <message>
        <location filename="../plugin/logic/wording.py" line="78"/>
        <source>image described</source>
        <translation>已描述图像</translation>
    </message>
    <message>
        <location filename="../plugin/logic/wording.py" line="80"/>
        <source>question answered</source>
        <translation>已回答问题</translation>
    </message>
    <message>
        <location filename="../plugin/logic/wording.py" line="83"/>
        <source>location found</source>
        <translation>已找到位置</translation>
    </message>
    <message>
        <location filename="../plugin/logic/wording.py" line="83"/>
        <source>{count} locations found</source>
        <translation>找到 {count} 个位置</translation>
    </message>
    <message>
        <location filename="../plugin/logic/wording.py" line="86"/>
        <source>1 region described</source>
        <translation>已描述 1 个区域</translation>
    </message>
    <message>
        <location filename="../plugin/logic/wording.py" line="86"/>
        <source>{count} regions described</source>
        <translation>已描述 {count} 个区域</translation>
    </message>
    <message>
        <location filename="../plugin/logic/wording.py" line="94"/>
        <source>cancelled before it started</source>
        <translation>开始前已取消</translation>
    </message>
    <message>
        <location filename="../plugin/logic/wording.py" line="96"/>
        <source>failed: {reason}</source>
        <translation>失败：{reason}</translation>
    </message>
    <message>
        <location filename="../plugin/logic/wording.py" line="104"/>
        <source>cancelled: {reason}</source>
        <translation>已取消：{reason}</translation>
    </message>
    <message>
        <location filename="../plugin/logic/wording.py" line="104"/>
        <source>cancelled before the first tile</source>
        <translation>在第一个瓦片之前已取消</translation>
    </message>
    <message>
        <location filename="../plugin/logic/wording.py" line="106"/>
        <source>cancelled after {done} of {total} tiles; kept {found}</source>
        <translation>在 {total} 个瓦片中完成 {done} 个后取消；保留了{found}</translation>
    </message>
    <message>
        <location filename="../plugin/logic/wording.py" line="108"/>
        <source>cancelled after {done} of {total} tiles; nothing found before</source>
        <translation>在 {total} 个瓦片中完成 {done} 个后取消；此前未找到任何对象</translation>
    </message>
    <message>
        <location filename="../plugin/runs.py" line="177"/>
        <source>{title} failed: {reason}</source>
        <translation>{title} 失败：{reason}</translation>
    </message>
    <message>
        <location filename="../plugin/logic/results.py" line="89"/>
        <source>{title} — demo (scripted answers)</source>
        <translation>{title} — 演示（脚本答案）</translation>
    </message>
    <message>
        <location filename="../plugin/runs.py" line="203"/>
        <source>(saved in {path})</source>
        <translation>（已保存到 {path}）</translation>
    </message>
    <message>
        <location filename="../plugin/logic/results.py" line="104"/>
        <source>{name} (demo)</source>
        <translation>{name}（演示）</translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="115"/>
        <source>http://localhost:8000/v1 (several: one per line)</source>
        <translation>http://localhost:8000/v1（多个时每行一个）</translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="117"/>
        <source>Model servers (openai engine)</source>
        <translation>模型服务器（openai 引擎）</translation>
    </message>
    <message>
        <location filename="../plugin/logic/prepare.py" line="231"/>
        <source>Give one band or three bands (red, green, blue), not {count}.</source>
        <translation>请给出一个波段或三个波段（红、绿、蓝），而不是 {count} 个。</translation>
    </message>
    <message>
        <location filename="../plugin/logic/prepare.py" line="234"/>
        <source>The layer {name} has no band {band} (it has {count}).</source>
        <translation>图层 {name} 没有波段 {band}（它有 {count} 个波段）。</translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="157"/>
        <source>Bands sent to the model (one, or red, green, blue; empty: the bands the layer shows)</source>
        <translation>发送给模型的波段（一个，或红、绿、蓝；留空：图层当前显示的波段）</translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="246"/>
        <source>Uploading the rendered image…</source>
        <translation>正在上传渲染的影像…</translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="246"/>
        <source>Running…</source>
        <translation>正在运行…</translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="408"/>
        <source>Candidate classes, comma separated (empty: those named in the instruction, else the 45 NWPU-RESISC45 scene classes)</source>
        <translation>候选类别，以逗号分隔（留空：使用指令中提到的类别，否则使用 NWPU-RESISC45 的 45 个场景类别）</translation>
    </message>
    <message>
        <location filename="../plugin/gui/options.py" line="128"/>
        <source>Refine boxes with SAM2 (outlines and rotated boxes for detection and change)</source>
        <translation>用 SAM2 细化框（为检测和变化检测生成轮廓和旋转框）</translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="182"/>
        <source>Refine boxes with SAM2 (outlines and rotated boxes)</source>
        <translation>用 SAM2 细化框（轮廓和旋转框）</translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="312"/>
        <source>Finds the objects the instruction names and writes them as rotated boxes (polygons) in the raster&apos;s CRS, with their label and score. With REFINE, each box prompts SAM2: the result is the outline&apos;s minimum rotated rectangle, and the outlines go to the run&apos;s polygons layer.</source>
        <translation>查找指令所指的目标，并以旋转框（多边形）写入栅格的坐标参考系，附带标签和得分。启用 REFINE 时，每个框都作为 SAM2 的提示：结果为轮廓的最小外接旋转矩形，轮廓写入本次运行的多边形图层。</translation>
    </message>
    <message>
        <location filename="../plugin/gui/raster_url.py" line="24"/>
        <source>GeoRSMLLM: opening {url}</source>
        <translation>GeoRSMLLM：正在打开 {url}</translation>
    </message>
    <message>
        <location filename="../plugin/gui/raster_url.py" line="37"/>
        <source>{name} could not be opened as a raster layer (is it a GeoTIFF?)</source>
        <translation>无法将 {name} 作为栅格图层打开（它是 GeoTIFF 吗？）</translation>
    </message>
    <message>
        <location filename="../plugin/gui/raster_url.py" line="54"/>
        <source>Raster from URL…</source>
        <translation>从 URL 添加栅格…</translation>
    </message>
    <message>
        <location filename="../plugin/gui/raster_url.py" line="55"/>
        <source>Add a cloud-optimised GeoTIFF or a STAC item by URL; runs read only the tiles they need</source>
        <translation>通过 URL 添加云优化 GeoTIFF 或 STAC 条目；运行时只读取所需的瓦片</translation>
    </message>
    <message>
        <location filename="../plugin/gui/raster_url.py" line="61"/>
        <source>Raster from URL</source>
        <translation>从 URL 添加栅格</translation>
    </message>
    <message>
        <location filename="../plugin/gui/raster_url.py" line="61"/>
        <source>URL of a cloud-optimised GeoTIFF or a STAC item (http or https):</source>
        <translation>云优化 GeoTIFF 或 STAC 条目的 URL（http 或 https）：</translation>
    </message>
    <message>
        <location filename="../plugin/gui/raster_url.py" line="77"/>
        <source>The URL could not be opened.</source>
        <translation>无法打开该 URL。</translation>
    </message>
    <message>
        <location filename="../plugin/logic/plan_view.py" line="20"/>
        <source>GIS measure</source>
        <translation>GIS 量测</translation>
    </message>
    <message>
        <location filename="../plugin/logic/plan_view.py" line="20"/>
        <source>assumption</source>
        <translation>假设</translation>
    </message>
    <message>
        <location filename="../plugin/logic/plan_view.py" line="21"/>
        <source>answer</source>
        <translation>答案</translation>
    </message>
    <message>
        <location filename="../plugin/logic/results.py" line="62"/>
        <source>Plan:</source>
        <translation>计划：</translation>
    </message>
    <message>
        <location filename="../plugin/gui/refine_tool.py" line="110"/>
        <source>Refine by clicking: click inside an object to add a point, Shift+click for a point outside it, drag a box around it; Enter or right-click keeps the result, Backspace removes the last prompt, Esc cancels.</source>
        <translation>点击细化：在对象内单击添加一个点，Shift+单击添加对象外的点，拖动可框选对象；回车或右键保留结果，退格键删除最后一个提示，Esc 取消。</translation>
    </message>
    <message>
        <location filename="../plugin/gui/refine_tool.py" line="139"/>
        <source>Choose a segmentation result layer to refine first.</source>
        <translation>请先选择要细化的分割结果图层。</translation>
    </message>
    <message>
        <location filename="../plugin/gui/refine_tool.py" line="169"/>
        <source>Click inside an object of {name} to refine it.</source>
        <translation>请在 {name} 的某个对象内部单击以细化它。</translation>
    </message>
    <message>
        <location filename="../plugin/gui/refine_tool.py" line="183"/>
        <source>Drag the box over an object of {name} to refine it.</source>
        <translation>请在 {name} 的某个对象上拖出方框以细化它。</translation>
    </message>
    <message>
        <location filename="../plugin/gui/refine_tool.py" line="211"/>
        <source>Refinement cancelled: the object is unchanged.</source>
        <translation>已取消细化：对象保持不变。</translation>
    </message>
    <message>
        <location filename="../plugin/gui/refine_tool.py" line="263"/>
        <source>Refinement failed: {reason}</source>
        <translation>细化失败：{reason}</translation>
    </message>
    <message>
        <location filename="../plugin/gui/refine_tool.py" line="263"/>
        <source>no answer</source>
        <translation>无应答</translation>
    </message>
    <message>
        <location filename="../plugin/gui/refine_tool.py" line="267"/>
        <source>The backend answered no outline.</source>
        <translation>后端没有返回轮廓。</translation>
    </message>
    <message>
        <location filename="../plugin/gui/refine_tool.py" line="287"/>
        <source>Nothing to keep yet: click inside the object or drag a box around it.</source>
        <translation>尚无可保留的结果：请在对象内部单击或在其周围拖出方框。</translation>
    </message>
    <message>
        <location filename="../plugin/gui/refine_tool.py" line="296"/>
        <source>Object refined in {name} (Ctrl+Z undoes; save the layer&apos;s edits to keep it).</source>
        <translation>已在 {name} 中细化对象（Ctrl+Z 可撤销；保存图层编辑以保留修改）。</translation>
    </message>
    <message>
        <location filename="../plugin/logic/refine.py" line="116"/>
        <source>The refined outline is empty: the feature was not changed.</source>
        <translation>细化后的轮廓为空：要素未被修改。</translation>
    </message>
    <message>
        <location filename="../plugin/logic/refine.py" line="123"/>
        <source>The layer {name} cannot be edited.</source>
        <translation>图层 {name} 无法编辑。</translation>
    </message>
    <message>
        <location filename="../plugin/logic/refine.py" line="124"/>
        <source>Refine object</source>
        <translation>细化对象</translation>
    </message>
    <message>
        <location filename="../plugin/logic/refine.py" line="133"/>
        <source>The feature could not be changed (was it deleted?).</source>
        <translation>无法修改该要素（是否已被删除？）。</translation>
    </message>
    <message>
        <location filename="../plugin/logic/tasks.py" line="178"/>
        <source>GeoRSMLLM: refining an object</source>
        <translation>GeoRSMLLM：正在细化对象</translation>
    </message>
    <message>
        <location filename="../plugin/main.py" line="116"/>
        <source>Refine by clicking</source>
        <translation>点击细化</translation>
    </message>
    <message>
        <location filename="../plugin/main.py" line="118"/>
        <source>Refine an object of the current GeoRSMLLM result layer with SAM2: click inside it, Shift+click outside it or drag a box; Enter keeps the result, Esc cancels</source>
        <translation>用 SAM2 细化当前 GeoRSMLLM 结果图层中的对象：在对象内单击、在对象外 Shift+单击或拖出方框；回车保留结果，Esc 取消</translation>
    </message>
    <message>
        <location filename="../plugin/main.py" line="157"/>
        <source>Select a segmentation result layer (or a SAM2-refined one) to refine.</source>
        <translation>请选择要细化的分割结果图层（或经 SAM2 细化的图层）。</translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="59"/>
        <source>Automatic (from the wording)</source>
        <translation>自动（根据措辞判断）</translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="59"/>
        <source>Follow up on the last result</source>
        <translation>基于上一个结果继续筛选</translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="59"/>
        <source>New run on the image</source>
        <translation>在影像上重新运行</translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="150"/>
        <source>Whether the instruction filters the last result (&quot;now only those larger than 500 m²&quot;, &quot;which of these are north of the river?&quot;) or starts a new run on the image. Automatic: a follow-up when the wording refers to the last result (these, those, the ones…).</source>
        <translation>指令是筛选上一个结果（“现在只保留面积大于 500 m² 的”、“其中哪些在河的北边？”），还是在影像上重新运行。自动：措辞指向上一个结果（these、those、the ones…）时即为后续筛选。</translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="160"/>
        <source>Follow up</source>
        <translation>后续筛选</translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="213"/>
        <source>Last result: {title}</source>
        <translation>上一个结果：{title}</translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="213"/>
        <source>No result to follow up on yet.</source>
        <translation>还没有可供后续筛选的结果。</translation>
    </message>
    <message>
        <location filename="../plugin/logic/prepare.py" line="415"/>
        <source>The last result ({name}) has no objects to follow up on.</source>
        <translation>上一个结果（{name}）中没有可供筛选的目标。</translation>
    </message>
    <message>
        <location filename="../plugin/logic/prepare.py" line="420"/>
        <source>There is no result to follow up on: run an instruction first (its result must still be in the project), or choose a new run.</source>
        <translation>没有可供后续筛选的结果：请先运行一条指令（其结果须仍在工程中），或选择重新运行。</translation>
    </message>
    <message>
        <location filename="../plugin/logic/results.py" line="66"/>
        <source>Follows up on: {layer} ({count} objects); no new search</source>
        <translation>基于：{layer}（{count} 个目标）继续筛选；未重新搜索</translation>
    </message>
    <message>
        <location filename="../plugin/logic/results.py" line="70"/>
        <source>Chain (objects after each step): {steps}</source>
        <translation>步骤链（每步之后的目标数）：{steps}</translation>
    </message>
    <message>
        <location filename="../plugin/logic/wording.py" line="74"/>
        <source>{found} kept of {total}</source>
        <translation>{total} 个中保留 {found}</translation>
    </message>
    <message>
        <location filename="../plugin/logic/wording.py" line="74"/>
        <source>none</source>
        <translation>无</translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="442"/>
        <source>Filter a result in words</source>
        <translation>用文字筛选结果</translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="445"/>
        <source>Which of its objects to keep (e.g. 'those larger than 500 m²', 'remove the ones inside the parks layer')</source>
        <translation>保留其中哪些目标（例如“those larger than 500 m²”、“remove the ones inside the parks layer”）</translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="449"/>
        <source>Result layer to filter (boxes or polygons of an earlier run)</source>
        <translation>要筛选的结果图层（之前运行的框或多边形）</translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="456"/>
        <source>The result layer to filter is missing or invalid.</source>
        <translation>要筛选的结果图层缺失或无效。</translation>
    </message>
    <message>
        <location filename="../plugin/processing/algorithms.py" line="466"/>
        <source>Filters the objects of a result layer by an instruction about them (&quot;those larger than 500 m²&quot;, &quot;which of these are north of the river?&quot;, &quot;remove the ones inside the parks layer&quot;): GIS conditions are measured without calling the model; visual ones ask the model only about those objects. The raster is the image they were found on.</source>
        <translation>按针对结果图层中目标的指令筛选这些目标（“those larger than 500 m²”、“which of these are north of the river?”、“remove the ones inside the parks layer”）：GIS 条件直接量测，不调用模型；视觉条件只就这些目标询问模型。栅格是发现这些目标的影像。</translation>
    </message>
    <message>
        <location filename="../plugin/runs.py" line="156"/>
        <source>↳ {title} (follow-up of {previous})</source>
        <translation>↳ {title}（{previous} 的后续筛选）</translation>
    </message>
    <message>
        <location filename="../plugin/gui/dock.py" line="339"/>
        <source>resuming…</source>
        <translation>正在继续…</translation>
    </message>
    <message>
        <location filename="../plugin/gui/run_list.py" line="102"/>
        <source>Resume: go on from the tiles this run finished</source>
        <translation>继续：从本次运行已完成的瓦片接着处理</translation>
    </message>
</context>
</TS>
